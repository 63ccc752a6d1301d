/**
 * The model's output end: final norm, OPT's project_out, the LM head (with Gemma 2's final soft-capping) and
 * log-softmax, to per-token negative log-likelihood. The LM head works through the vocabulary in slices and folds
 * each into a running log-sum-exp, so a [tokens, vocab] logits buffer never exists (vocabularies reach 150k on real
 * models).
 *
 *   const head = await uploadHead(ctx, arch, source);             // final norm, OPT project_out, LM head (tied ok)
 *   for (const chunk of chunks) {
 *     // targets: one per hidden row, the next token id, or −1 where there is none (each sequence's last row);
 *     // nextTokenTargets(ids, seqLen) in src/core/eval builds them. −1 rows come back as NaN.
 *     const perToken: Float64Array = await nll(ctx, arch, head, chunk.hidden, targets.subarray(from, to));
 *   }
 *   head.destroy();
 *
 * nll takes hidden states split by token ranges and works range by range, `tokensPerSlice` rows at a time and the
 * vocabulary in slices whose logits stay under `logitsBytes` (default 64 MiB, never above the binding limit), with
 * one readback per token range. Bad targets throw TokenIdError.
 */
import { formatBytes } from '../format-bytes';
import { createStorageBuffer, readFloat32, uploadArray, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { bindingLimit, requireBindable } from '../gpu/limits';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import type { Architecture } from './architecture';
import { type TensorSource, uploadMatrix, uploadNorm } from './block-weights';
import { TokenIdError } from './embedding';
import { encodeLinear } from './kernels/linear';
import { encodeLogSumExp, initialLogSumExpState } from './kernels/logsumexp';
import { encodeNorm, type NormWeights } from './kernels/norm';
import { encodeSoftcap } from './kernels/softcap';

export interface HeadWeights {
  finalNorm?: NormWeights;
  projectOut?: SplitMatrix;
  lmHead: SplitMatrix;
  destroy(): void;
}

export async function uploadHead(
  ctx: GpuContext,
  arch: Architecture,
  source: TensorSource,
): Promise<HeadWeights> {
  const finalNorm = arch.finalNorm
    ? await uploadNorm(ctx, source, arch.finalNorm, arch.hiddenSize, arch.norm.unitOffset)
    : undefined;
  const projectOut = arch.projectOut ? await uploadMatrix(ctx, source, arch.projectOut) : undefined;
  const lmHead = await uploadMatrix(ctx, source, arch.lmHead);
  return {
    finalNorm,
    projectOut,
    lmHead,
    destroy() {
      finalNorm?.weight.destroy();
      finalNorm?.bias?.destroy();
      projectOut?.destroy();
      lmHead.destroy();
    },
  };
}

export interface NllOptions {
  /** Tokens normalised and projected per step (default 256). */
  tokensPerSlice?: number;
  /** Upper bound on one [tokens, vocabulary slice] logits buffer (default min(64 MiB, binding limit)). */
  logitsBytes?: number;
}

/**
 * Per-token negative log-likelihood of `targets` (one per hidden row; −1 = no target, NaN in the result):
 * final norm, LM head (tied or not), log-softmax, target pick, in token × vocabulary slices. The hidden states are
 * one buffer or a SplitMatrix split by token ranges; token slices never straddle two ranges, and each range folds
 * into a state buffer of its own (16 bytes per token, a quarter of the narrowest hidden row) with one readback.
 */
export async function nll(
  ctx: GpuContext,
  arch: Architecture,
  head: HeadWeights,
  hidden: GPUBuffer | SplitMatrix,
  targets: Int32Array,
  options: NllOptions = {},
): Promise<Float64Array> {
  const tokens = targets.length;
  for (let i = 0; i < tokens; i++) {
    if (!Number.isInteger(targets[i]) || targets[i] < -1 || targets[i] >= arch.vocabSize) {
      throw new TokenIdError(
        `target ${targets[i]} at position ${i} is outside the vocabulary [0, ${arch.vocabSize})`,
      );
    }
  }
  const rows = SplitMatrix.rowsOf(ctx, hidden, tokens, arch.hiddenSize, 'nll: the hidden states');
  const plan = planHead(ctx, arch, head, tokens, options);
  const buffers = new HeadBuffers(ctx, arch, head, plan.tokensPerSlice);
  const logits = createStorageBuffer(ctx, plan.tokensPerSlice * plan.vocabPerSlice * 4, 'logits slice');
  try {
    const result = new Float64Array(tokens);
    for (const [part, from, to] of rows.overlaps(0, tokens)) {
      const range = { hidden: part.buffer, first: from, targets: targets.subarray(from, to) };
      result.set(await nllOfRange(ctx, arch, head, range, { plan, buffers, logits }), from);
    }
    return result;
  } finally {
    logits.destroy();
    buffers.destroy();
  }
}

/**
 * NLL of one buffer's rows [0, targets.length) (matrix rows from `first` on): token slices through the head,
 * every vocabulary slice folded into the running log-sum-exp state, one readback.
 */
async function nllOfRange(
  ctx: GpuContext,
  arch: Architecture,
  head: HeadWeights,
  range: { hidden: GPUBuffer; first: number; targets: Int32Array },
  scratch: { plan: HeadPlan; buffers: HeadBuffers; logits: GPUBuffer },
): Promise<Float64Array> {
  const { plan, buffers, logits } = scratch;
  const { targets } = range;
  const tokens = targets.length;
  const state = uploadFloat32(ctx, initialLogSumExpState(tokens), 'nll state');
  const targetBuffer = uploadArray(ctx, targets, 'nll targets');
  try {
    await withErrorScope(ctx, 'LM head', () => {
      for (let t0 = 0; t0 < tokens; t0 += plan.tokensPerSlice) {
        const recorder = new CommandRecorder(ctx, 'LM head');
        const count = Math.min(plan.tokensPerSlice, tokens - t0);
        const x = buffers.encode(recorder, range.hidden, t0, count);
        for (let v0 = 0; v0 < arch.vocabSize; v0 += plan.vocabPerSlice) {
          const columns = Math.min(plan.vocabPerSlice, arch.vocabSize - v0);
          encodeLinear(ctx, recorder, {
            X: x,
            tokens: count,
            W: head.lmHead,
            rowStart: v0,
            rows: columns,
            Y: logits,
          });
          softcap(ctx, arch, recorder, logits, count * columns);
          encodeLogSumExp(ctx, recorder, {
            logits,
            tokens: count,
            columns,
            vocabStart: v0,
            targets: targetBuffer,
            state,
            stateRowStart: t0,
          });
        }
        recorder.submit();
        recorder.destroy();
      }
    });
    const folded = await readFloat32(ctx, state, tokens * 4);
    const result = new Float64Array(tokens);
    for (let t = 0; t < tokens; t++) {
      const [max, sum, target] = [folded[t * 4], folded[t * 4 + 1], folded[t * 4 + 2]];
      result[t] = targets[t] < 0 ? Number.NaN : max + Math.log(sum) - target;
    }
    return result;
  } finally {
    for (const buffer of [state, targetBuffer]) buffer.destroy();
  }
}

/** Full logits [rows.length, vocab] at the given hidden rows (e.g. the last prompt position), read back. */
export async function logitsAt(
  ctx: GpuContext,
  arch: Architecture,
  head: HeadWeights,
  hidden: GPUBuffer | SplitMatrix,
  rows: number[],
): Promise<Float32Array> {
  const count = rows.length;
  const H = arch.hiddenSize;
  const states =
    hidden instanceof SplitMatrix
      ? hidden
      : SplitMatrix.rowsOf(ctx, hidden, Math.floor(hidden.size / (H * 4)), H, 'logitsAt');
  requireBindable(ctx, count * arch.vocabSize * 4, `logits of ${count} rows`, 'ask for fewer rows at a time');
  const logits = createStorageBuffer(ctx, count * arch.vocabSize * 4, 'logits');
  const buffers = new HeadBuffers(ctx, arch, head, count);
  try {
    await withErrorScope(ctx, 'LM head', () => {
      const recorder = new CommandRecorder(ctx, 'LM head');
      const picked = recorder.untilSubmit(createStorageBuffer(ctx, count * H * 4, 'picked hidden rows'));
      rows.forEach((row, i) => {
        if (!Number.isInteger(row) || row < 0 || row >= states.rows) {
          throw new RangeError(`logitsAt: row ${row} is not in the hidden buffer`);
        }
        const at = states.rowsAt(row, 1);
        recorder.commands.copyBufferToBuffer(at.buffer, at.row * H * 4, picked, i * H * 4, H * 4);
      });
      const x = buffers.encode(recorder, picked, 0, count);
      encodeLinear(ctx, recorder, {
        X: x,
        tokens: count,
        W: head.lmHead,
        Y: logits,
        outStride: arch.vocabSize,
      });
      softcap(ctx, arch, recorder, logits, count * arch.vocabSize);
      recorder.submit();
      recorder.destroy();
    });
    return await readFloat32(ctx, logits, count * arch.vocabSize);
  } finally {
    logits.destroy();
    buffers.destroy();
  }
}

/** Gemma 2's final logit soft-capping, where the model has it, on the first `count` logits of `logits`. */
function softcap(
  ctx: GpuContext,
  arch: Architecture,
  recorder: CommandRecorder,
  logits: GPUBuffer,
  count: number,
): void {
  if (arch.finalLogitSoftcap !== undefined)
    encodeSoftcap(ctx, recorder, { X: logits, count, cap: arch.finalLogitSoftcap });
}

interface HeadPlan {
  tokensPerSlice: number;
  vocabPerSlice: number;
}

function planHead(
  ctx: GpuContext,
  arch: Architecture,
  head: HeadWeights,
  tokens: number,
  options: NllOptions,
): HeadPlan {
  const limit = bindingLimit(ctx);
  const widest = Math.max(arch.hiddenSize, head.lmHead.cols);
  let tokensPerSlice = Math.max(
    1,
    Math.min(options.tokensPerSlice ?? 256, tokens, Math.floor(limit / (widest * 4))),
  );
  const logitsBytes = Math.min(options.logitsBytes ?? 64 * 2 ** 20, limit);
  let vocabPerSlice = Math.min(arch.vocabSize, Math.floor(logitsBytes / (tokensPerSlice * 4)));
  // Tiny budgets: trade tokens per step for vocabulary slices of a useful width.
  while (vocabPerSlice < Math.min(32, arch.vocabSize) && tokensPerSlice > 1) {
    tokensPerSlice = Math.ceil(tokensPerSlice / 2);
    vocabPerSlice = Math.min(arch.vocabSize, Math.floor(logitsBytes / (tokensPerSlice * 4)));
  }
  if (vocabPerSlice < 1) {
    throw new RangeError(`nll: a logits budget of ${formatBytes(logitsBytes)} cannot hold even one row`);
  }
  return { tokensPerSlice, vocabPerSlice };
}

/** The LM head's input for a slice of tokens: final norm, then OPT's project_out. */
class HeadBuffers {
  private readonly normed: GPUBuffer;
  private readonly projected?: GPUBuffer;

  constructor(
    private readonly ctx: GpuContext,
    private readonly arch: Architecture,
    private readonly head: HeadWeights,
    capacity: number,
  ) {
    this.normed = createStorageBuffer(ctx, capacity * arch.hiddenSize * 4, 'head input');
    if (head.projectOut) {
      this.projected = createStorageBuffer(ctx, capacity * head.projectOut.rows * 4, 'projected head input');
    }
  }

  /**
   * Encodes the head input for hidden rows [rowStart, rowStart + count) and returns the buffer the LM head reads
   * (from row 0). Without a final norm the rows are copied, since the LM head reads its input from row 0.
   */
  encode(recorder: CommandRecorder, hidden: GPUBuffer, rowStart: number, count: number): GPUBuffer {
    const { ctx, arch, head } = this;
    const H = arch.hiddenSize;
    if (head.finalNorm) {
      encodeNorm(ctx, recorder, {
        kind: arch.norm.kind,
        X: hidden,
        xRowStart: rowStart,
        rows: count,
        features: H,
        eps: arch.norm.eps,
        weights: head.finalNorm,
        Y: this.normed,
      });
    } else {
      recorder.commands.copyBufferToBuffer(hidden, rowStart * H * 4, this.normed, 0, count * H * 4);
    }
    if (!head.projectOut || !this.projected) return this.normed;
    encodeLinear(ctx, recorder, { X: this.normed, tokens: count, W: head.projectOut, Y: this.projected });
    return this.projected;
  }

  destroy(): void {
    this.normed.destroy();
    this.projected?.destroy();
  }
}

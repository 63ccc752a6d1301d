/**
 * The two ends of the model around the blocks: token (+ learned position) embeddings in, and final norm, LM head
 * and log-softmax out. The LM head works through the vocabulary in chunks and folds each into a running
 * log-sum-exp, so a [tokens, vocab] logits buffer never exists (vocabularies reach 150k on real models).
 *
 * How the pipeline calls them (see block-runner.ts for the blocks in between):
 *
 *   const embedding = await uploadEmbedding(ctx, arch, source);   // tokens, learned positions, OPT project_in
 *   for (const chunk of chunks) {                                  // chunk: `count` sequences of seqLen ids
 *     // Split by token ranges where one buffer would exceed the binding limit (block-runner.ts tokensPerRange).
 *     chunk.hidden = SplitMatrix.allocate(ctx, perChunk * seqLen, arch.hiddenSize, 'hidden', tokensPerRange(ctx, arch));
 *     await embedInto(ctx, arch, embedding, chunkIds, { sequences: chunk.count, seqLen }, chunk.hidden);
 *   }
 *   embedding.destroy();                                           // not needed while blocks run
 *   … every block through BlockRunner.run …
 *   const head = await uploadHead(ctx, arch, source);             // final norm, OPT project_out, LM head (tied ok)
 *   for (const chunk of chunks) {
 *     // targets: one per hidden row, the next token id, or −1 where there is none (each sequence's last row);
 *     // nextTokenTargets(ids, seqLen) in src/core/eval builds them. −1 rows come back as NaN.
 *     const perToken: Float64Array = await nll(ctx, arch, head, chunk.hidden, targets.subarray(from, to));
 *   }
 *   head.destroy();
 *
 * embed writes one buffer (the hidden states must then fit one binding); embedInto and nll take hidden states split
 * by token ranges and work range by range. nll works through `tokenChunk` rows at a time and the vocabulary in
 * pieces whose logits stay under `logitsBytes` (default 64 MiB, never above the binding limit), with one readback
 * per token range. Bad token ids and targets throw TokenIdError; positions past OPT/GPT-2's learned table say what
 * seqLen fits.
 */

import { formatBytes } from '../format-bytes';
import { createStorageBuffer, readFloat32, uploadArray, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { bindingLimit, requireBindable } from '../gpu/limits';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import { type Architecture, toOutIn } from './architecture';
import { readTensor, type TensorSource, uploadNorm } from './block-weights';
import { encodeGather } from './kernels/embedding';
import { encodeLinear } from './kernels/linear';
import { encodeLogSumExp, initialLogSumExpState } from './kernels/logsumexp';
import { encodeNorm, type NormWeights } from './kernels/norm';

export interface EmbeddingWeights {
  tokens: SplitMatrix;
  positions?: SplitMatrix;
  projectIn?: SplitMatrix;
  destroy(): void;
}

export interface HeadWeights {
  finalNorm?: NormWeights;
  projectOut?: SplitMatrix;
  lmHead: SplitMatrix;
  destroy(): void;
}

export class TokenIdError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'TokenIdError';
  }
}

async function uploadMatrix(
  ctx: GpuContext,
  source: TensorSource,
  spec: { tensor: string; rows: number; cols: number },
): Promise<SplitMatrix> {
  const data = await readTensor(source, spec.tensor, spec.rows * spec.cols);
  return SplitMatrix.upload(ctx, data, spec.rows, spec.cols, spec.tensor);
}

export async function uploadEmbedding(
  ctx: GpuContext,
  arch: Architecture,
  source: TensorSource,
): Promise<EmbeddingWeights> {
  const tokens = await uploadMatrix(ctx, source, arch.embedding);
  const positions = arch.positions ? await uploadMatrix(ctx, source, arch.positions) : undefined;
  const spec = arch.projectIn;
  const projectIn = spec
    ? SplitMatrix.upload(ctx, toOutIn(spec, await source(spec.tensor)), spec.rows, spec.cols, spec.tensor)
    : undefined;
  return {
    tokens,
    positions,
    projectIn,
    destroy() {
      tokens.destroy();
      positions?.destroy();
      projectIn?.destroy();
    },
  };
}

export async function uploadHead(
  ctx: GpuContext,
  arch: Architecture,
  source: TensorSource,
): Promise<HeadWeights> {
  const finalNorm = arch.finalNorm
    ? await uploadNorm(ctx, source, arch.finalNorm, arch.hiddenSize)
    : undefined;
  const spec = arch.projectOut;
  const projectOut = spec
    ? SplitMatrix.upload(ctx, toOutIn(spec, await source(spec.tensor)), spec.rows, spec.cols, spec.tensor)
    : undefined;
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

export interface EmbedShape {
  sequences: number;
  seqLen: number;
  positionOffset?: number;
}

export interface EmbedOptions extends EmbedShape {
  /** Written if given (at least sequences·seqLen·hidden floats), else a new buffer the caller owns. */
  out?: GPUBuffer;
}

/**
 * Throws where the hidden states of a chunk do not fit one storage binding, for `embed`, which writes them to one
 * buffer: SequenceStates (and embedInto) hold larger chunks split by token ranges. Checked before the buffer is
 * created, whose own size limit would otherwise fail first with no advice.
 */
export function requireHiddenStatesFit(
  ctx: GpuContext,
  arch: Architecture,
  { sequences, seqLen }: { sequences: number; seqLen: number },
): void {
  requireBindable(
    ctx,
    sequences * seqLen * arch.hiddenSize * 4,
    `the hidden states of ${sequences} sequences × ${seqLen} tokens in one buffer`,
    'embed them into a SplitMatrix split by token ranges (embedInto)',
  );
}

/**
 * Hidden states [sequences·seqLen, hidden] in one buffer for token ids laid out the same way: token embeddings,
 * OPT's project_in, plus learned positions (each sequence starts at positionOffset).
 */
export async function embed(
  ctx: GpuContext,
  arch: Architecture,
  weights: EmbeddingWeights,
  ids: ArrayLike<number>,
  options: EmbedOptions,
): Promise<GPUBuffer> {
  const tokens = options.sequences * options.seqLen;
  const H = arch.hiddenSize;
  const embeddingIds = checkedEmbeddingIds(arch, ids, options);
  requireHiddenStatesFit(ctx, arch, options);
  if (options.out && options.out.size < tokens * H * 4)
    throw new RangeError(`embed: the output buffer is too small for ${tokens} tokens`);
  const out = options.out ?? createStorageBuffer(ctx, tokens * H * 4, 'hidden states');
  try {
    await embedRows(ctx, arch, weights, embeddingIds, SplitMatrix.over(ctx, out, tokens, H, 'hidden states'));
  } catch (error) {
    if (!options.out) out.destroy();
    throw error;
  }
  return out;
}

/**
 * The same into hidden states held as a SplitMatrix, which may be split by token ranges (a chunk's hidden states
 * can exceed one binding: one Llama-70B sequence of 8192 tokens is 256 MiB): each range is embedded on its own.
 */
export async function embedInto(
  ctx: GpuContext,
  arch: Architecture,
  weights: EmbeddingWeights,
  ids: ArrayLike<number>,
  shape: EmbedShape,
  out: SplitMatrix,
): Promise<void> {
  const tokens = shape.sequences * shape.seqLen;
  const embeddingIds = checkedEmbeddingIds(arch, ids, shape);
  if (out.cols !== arch.hiddenSize || out.rows < tokens) {
    throw new RangeError(
      `embed: the hidden states are ${out.rows}×${out.cols}, too small for ${tokens} tokens`,
    );
  }
  await embedRows(ctx, arch, weights, embeddingIds, out);
}

/** Token ids (and learned position ids) of a chunk, checked against the vocabulary and the position table. */
interface EmbeddingIds {
  tokens: Uint32Array;
  positions?: Uint32Array;
}

function checkedEmbeddingIds(arch: Architecture, ids: ArrayLike<number>, shape: EmbedShape): EmbeddingIds {
  const { sequences, seqLen } = shape;
  if (ids.length !== sequences * seqLen) {
    throw new TokenIdError(
      `embed: got ${ids.length} token ids for ${sequences} sequences × ${seqLen} tokens`,
    );
  }
  const tokens = checkedIds(ids, arch.vocabSize);
  const positions = arch.positions
    ? positionIdsFor(arch, sequences, seqLen, shape.positionOffset ?? 0)
    : undefined;
  return { tokens, positions };
}

/**
 * Embeds rows [0, ids.tokens.length) of `out` shard by shard. A shard's rows go in pieces where OPT's project_in
 * needs scratch wider than the hidden states (its gathered embeddings), so that the scratch fits one binding too;
 * one shard in one piece is the unsplit embedding, dispatch for dispatch.
 */
async function embedRows(
  ctx: GpuContext,
  arch: Architecture,
  weights: EmbeddingWeights,
  ids: EmbeddingIds,
  out: SplitMatrix,
): Promise<void> {
  const scratchWidth = Math.max(arch.hiddenSize, weights.projectIn?.cols ?? 0);
  const perPiece = Math.floor(bindingLimit(ctx) / (scratchWidth * 4));
  if (perPiece < 1) {
    requireBindable(ctx, scratchWidth * 4, 'one token embedding', 'this model is too wide for this GPU');
  }
  await withErrorScope(ctx, 'embedding', () => {
    for (const [shard, from, to] of out.overlaps(0, ids.tokens.length)) {
      for (let start = from; start < to; start += perPiece) {
        const count = Math.min(perPiece, to - start);
        const recorder = new CommandRecorder(ctx, 'embedding');
        encodeEmbedding(ctx, arch, recorder, weights, {
          tokens: ids.tokens.subarray(start, start + count),
          positions: ids.positions?.subarray(start, start + count),
          Y: shard.buffer,
          yRowStart: start - shard.firstRow,
        });
        recorder.submit();
        recorder.destroy();
      }
    }
  });
}

/**
 * Encodes the embedding of `ids.tokens.length` tokens into rows [yRowStart, …) of Y. Without project_in the
 * gathers write Y directly, from row 0 (embedRows only splits rows within a shard where project_in is there).
 */
function encodeEmbedding(
  ctx: GpuContext,
  arch: Architecture,
  recorder: CommandRecorder,
  weights: EmbeddingWeights,
  piece: { tokens: Uint32Array; positions?: Uint32Array; Y: GPUBuffer; yRowStart: number },
): void {
  const tokens = piece.tokens.length;
  const H = arch.hiddenSize;
  const projectIn = weights.projectIn;
  if (!projectIn && piece.yRowStart !== 0) throw new Error('embedding: gathers write from row 0');
  const idBuffer = recorder.untilSubmit(uploadArray(ctx, piece.tokens, 'token ids'));
  const gathered = projectIn
    ? recorder.untilSubmit(createStorageBuffer(ctx, tokens * projectIn.cols * 4, 'token embeddings'))
    : piece.Y;
  encodeGather(ctx, recorder, {
    table: weights.tokens,
    ids: idBuffer,
    tokens,
    Y: gathered,
    accumulate: false,
  });
  let positionsAdded: GPUBuffer | undefined;
  if (weights.positions && piece.positions) {
    const positionBuffer = recorder.untilSubmit(uploadArray(ctx, piece.positions, 'position ids'));
    // With project_in the positions are added to its output: gather them into their own buffer first.
    positionsAdded = projectIn
      ? recorder.untilSubmit(createStorageBuffer(ctx, tokens * H * 4, 'position embeddings'))
      : piece.Y;
    encodeGather(ctx, recorder, {
      table: weights.positions,
      ids: positionBuffer,
      tokens,
      Y: positionsAdded,
      accumulate: !projectIn,
    });
  }
  if (projectIn) {
    encodeLinear(ctx, recorder, {
      X: gathered,
      tokens,
      W: projectIn,
      residual: positionsAdded,
      Y: piece.Y,
      yRowStart: piece.yRowStart,
    });
  }
}

function positionIdsFor(arch: Architecture, sequences: number, seqLen: number, offset: number): Uint32Array {
  const positions = arch.positions!;
  const last = offset + seqLen - 1 + positions.offset;
  if (last >= positions.rows) {
    throw new TokenIdError(
      `position ${offset + seqLen - 1} is past this model's ${positions.rows - positions.offset} learned positions: ` +
        `lower seqLen to ${positions.rows - positions.offset - offset} or fewer`,
    );
  }
  const ids = new Uint32Array(sequences * seqLen);
  for (let t = 0; t < ids.length; t++) ids[t] = offset + (t % seqLen) + positions.offset;
  return ids;
}

function checkedIds(ids: ArrayLike<number>, vocab: number): Uint32Array {
  const out = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new TokenIdError(`token id ${id} at position ${i} is outside the vocabulary [0, ${vocab})`);
    }
    out[i] = id;
  }
  return out;
}

export interface NllOptions {
  /** Tokens normalised and projected per step (default 256). */
  tokenChunk?: number;
  /** Upper bound on one [tokens, vocab chunk] logits buffer (default min(64 MiB, binding limit)). */
  logitsBytes?: number;
}

/**
 * Per-token negative log-likelihood of `targets` (one per hidden row; −1 = no target, NaN in the result):
 * final norm, LM head (tied or not), log-softmax, target pick, in token × vocabulary chunks. The hidden states are
 * one buffer or a SplitMatrix split by token ranges; token chunks never straddle two ranges, and each range folds
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
  const buffers = new HeadBuffers(ctx, arch, head, plan.tokenChunk);
  const logits = createStorageBuffer(ctx, plan.tokenChunk * plan.vocabChunk * 4, 'logits chunk');
  try {
    const result = new Float64Array(tokens);
    for (const [shard, from, to] of rows.overlaps(0, tokens)) {
      const range = { hidden: shard.buffer, first: from, targets: targets.subarray(from, to) };
      result.set(await nllOfRange(ctx, arch, head, range, { plan, buffers, logits }), from);
    }
    return result;
  } finally {
    logits.destroy();
    buffers.destroy();
  }
}

/**
 * NLL of one buffer's rows [0, targets.length) (matrix rows from `first` on): token chunks through the head,
 * every vocabulary chunk folded into the running log-sum-exp state, one readback.
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
      for (let t0 = 0; t0 < tokens; t0 += plan.tokenChunk) {
        const recorder = new CommandRecorder(ctx, 'LM head');
        const count = Math.min(plan.tokenChunk, tokens - t0);
        const x = buffers.encode(recorder, range.hidden, t0, count);
        for (let v0 = 0; v0 < arch.vocabSize; v0 += plan.vocabChunk) {
          const columns = Math.min(plan.vocabChunk, arch.vocabSize - v0);
          encodeLinear(ctx, recorder, {
            X: x,
            tokens: count,
            W: head.lmHead,
            rowStart: v0,
            rows: columns,
            Y: logits,
          });
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
      recorder.submit();
      recorder.destroy();
    });
    return await readFloat32(ctx, logits, count * arch.vocabSize);
  } finally {
    logits.destroy();
    buffers.destroy();
  }
}

interface HeadPlan {
  tokenChunk: number;
  vocabChunk: number;
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
  let tokenChunk = Math.max(1, Math.min(options.tokenChunk ?? 256, tokens, Math.floor(limit / (widest * 4))));
  const logitsBytes = Math.min(options.logitsBytes ?? 64 * 2 ** 20, limit);
  let vocabChunk = Math.min(arch.vocabSize, Math.floor(logitsBytes / (tokenChunk * 4)));
  // Tiny budgets: trade tokens per step for vocabulary chunks of a useful width.
  while (vocabChunk < Math.min(32, arch.vocabSize) && tokenChunk > 1) {
    tokenChunk = Math.ceil(tokenChunk / 2);
    vocabChunk = Math.min(arch.vocabSize, Math.floor(logitsBytes / (tokenChunk * 4)));
  }
  if (vocabChunk < 1) {
    throw new RangeError(`nll: a logits budget of ${formatBytes(logitsBytes)} cannot hold even one row`);
  }
  return { tokenChunk, vocabChunk };
}

/** The LM head's input for a chunk of tokens: final norm, then OPT's project_out. */
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

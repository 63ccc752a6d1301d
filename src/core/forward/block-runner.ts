/**
 * Runs one transformer block on the GPU over a chunk of calibration or evaluation sequences: hidden states in,
 * hidden states out, both row-major f32 [sequences·seqLen, hidden]. Each sequence is independent (causal attention
 * within it). Intermediate buffers are sized for the chunk and reused from block to block.
 *
 * Larger than memory: attention needs the q|k|v of whole sequences, so the q|k|v projection and the attention
 * output hold the whole chunk, but everything else is per token. Where the per-token intermediates of a chunk do
 * not fit one storage binding (the gate|up projection of one Llama-7B sequence of 2048 tokens is 172 MiB, the
 * default binding limit 128 MiB), the norms, the q|k|v projection, o_proj, the MLP and the residual adds run in
 * token slices sized to the limit. The arithmetic of each token is the same either way.
 *
 * How the pruning pipeline drives a model (model-forward.ts does the same without pruning):
 *
 *   const arch = describeArchitecture(config, checkpointTensorNames);
 *   const source: TensorSource = (name) => checkpoint.readFloat32(name);   // any dtype → f32
 *   const perChunk = Math.min(wanted, maxSequencesPerChunk(ctx, arch, seqLen));  // 0 ⇒ seqLen too long
 *   // 1. Embed every chunk of sequences once (model-ends.ts): uploadEmbedding → embed(…, { out }) → destroy.
 *   // 2. One runner for the whole model, sized for the largest chunk (throws ForwardMemoryError, saying what to
 *   //    lower, past the storage binding limit):
 *   const runner = new BlockRunner(ctx, arch, { sequences: perChunk, seqLen });
 *   for (let b = 0; b < arch.numBlocks; b++) {
 *     const weights = await uploadBlock(ctx, arch, b, source);      // block-weights.ts; reads each tensor once
 *     // a. Calibration pass with the dense weights: for every chunk,
 *     await runner.run(weights, chunk.hidden, spare, { sequences: chunk.count, seqLen, capture });
 *     //    capture(group, X, tokens) is called for each input group in the order of arch.block(b).groups
 *     //    (attention, attention_output, mlp, mlp_output): once per chunk, or once per token slice, in token
 *     //    order, for the groups whose input is computed slice by slice (see run). X is [tokens, group.features]
 *     //    f32 on the GPU, valid only until the callback's promise settles: HessianAccumulator.add(X, tokens)
 *     //    (one accumulator per group.role) encodes on the same queue, so no readback or copy is needed.
 *     //    Discard `spare` (the dense outputs) unless the dense block output is wanted for error reports.
 *     // b. Prune each group's linears with its Hessian; swap each result in, in [rows = out, cols = in]
 *     //    orientation (toOutIn / fromOutIn for GPT-2's transposed Conv1D tensors):
 *     weights.replaceLinear(linear.name, W);                          // Float32Array or GPUBuffer
 *     // c. Run every chunk again without capture; the outputs are the next block's inputs (swap the chunk's
 *     //    buffer with `spare`: input and output must be different buffers).
 *     weights.destroy();
 *   }
 *   runner.destroy();
 *   // 3. uploadHead → nll(ctx, arch, head, chunk.hidden, targets) per chunk → head.destroy() (model-ends.ts).
 *
 * Evaluation windows that do not start at position 0 pass `positionOffset` to embed and run alike.
 */
import { bindingLimit, createStorageBuffer, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { withErrorScope } from '../gpu/pipelines';
import type { Architecture, InputGroup } from './architecture';
import type { BlockWeights } from './block-weights';
import { CommandBatch } from './command-batch';
import { encodeAttention } from './kernels/attention';
import { encodeLinear } from './kernels/linear';
import { encodeNorm } from './kernels/norm';
import { encodeRotary } from './kernels/rotary';
import { encodeGatedActivation } from './kernels/swiglu';
import { ForwardMemoryError, mebibytes } from './limits';
import { ropeTable } from './rope';

/**
 * Receives the exact f32 [tokens, group.features] input of a group's linears, on the GPU, before the block goes
 * on (the work encoded so far has been submitted; anything the callback submits runs before the block continues).
 * The buffer may be longer than tokens rows and is overwritten later: consume it, don't keep it.
 */
export type CaptureInput = (group: InputGroup, X: GPUBuffer, tokens: number) => void | Promise<void>;

export interface ChunkShape {
  sequences: number;
  seqLen: number;
}

export interface RunBlockOptions extends ChunkShape {
  /** Position of each sequence's first token (default 0). */
  positionOffset?: number;
  capture?: CaptureInput;
}

interface ScratchSpec {
  name: string;
  floatsPerToken: number;
  /** Why a whole-chunk buffer cannot be sliced, for the error that says it does not fit. */
  whole?: string;
}

/**
 * Buffers that hold every token of a chunk: the hidden states in and out (the caller's), and the q|k|v projection
 * and attention output, because attention reads every position of a sequence at once.
 */
function wholeChunkSpecs(arch: Architecture): ScratchSpec[] {
  const q = arch.heads * arch.headDim;
  const kv = arch.kvHeads * arch.headDim;
  const attention = 'attention reads whole sequences';
  return [
    {
      name: 'hidden states',
      floatsPerToken: arch.hiddenSize,
      whole: 'the block reads and writes them in one buffer each',
    },
    { name: 'q|k|v projection', floatsPerToken: q + 2 * kv, whole: attention },
    { name: 'attention output', floatsPerToken: q, whole: attention },
  ];
}

/** Buffers of the per-token work (norms, residual stream, MLP), which runs in token slices when a chunk is large. */
function sliceSpecs(arch: Architecture): ScratchSpec[] {
  const gated = arch.mlp.kind === 'gated';
  const specs: ScratchSpec[] = [
    { name: 'normalised hidden states', floatsPerToken: arch.hiddenSize },
    { name: 'residual stream', floatsPerToken: arch.hiddenSize },
    {
      name: gated ? 'gate|up projection' : 'MLP intermediate',
      floatsPerToken: gated ? 2 * arch.intermediateSize : arch.intermediateSize,
    },
  ];
  if (gated) specs.push({ name: 'MLP intermediate', floatsPerToken: arch.intermediateSize });
  return specs;
}

function widest(specs: ScratchSpec[]): ScratchSpec {
  return specs.reduce((a, b) => (b.floatsPerToken > a.floatsPerToken ? b : a));
}

/**
 * Sequences per block call: as many as run without splitting the per-token work into token slices (slices give the
 * same block output, but capture in smaller batches, and Hessians summed in other batches round differently), or
 * 1 where one sequence runs only in slices (Llama-7B at seqLen 2048: its gate|up projection is 172 MiB, the
 * default binding limit 128 MiB). A BlockRunner takes larger chunks too, up to what its whole-chunk buffers allow.
 * 0 when even one sequence's q|k|v does not fit one binding; the BlockRunner then says which seqLen does.
 */
export function maxSequencesPerChunk(ctx: GpuContext, arch: Architecture, seqLen: number): number {
  const limit = bindingLimit(ctx);
  const perToken = (specs: ScratchSpec[]) => widest(specs).floatsPerToken * 4;
  const unsliced = Math.floor(
    limit / (Math.max(perToken(wholeChunkSpecs(arch)), perToken(sliceSpecs(arch))) * seqLen),
  );
  if (unsliced >= 1) return unsliced;
  const sliced = Math.floor(limit / (perToken(wholeChunkSpecs(arch)) * seqLen));
  return sliced >= 1 && tokensPerSlice(ctx, arch) >= 1 ? 1 : 0;
}

/** The most tokens one slice of the per-token work may hold. */
function tokensPerSlice(ctx: GpuContext, arch: Architecture): number {
  return Math.floor(bindingLimit(ctx) / (widest(sliceSpecs(arch)).floatsPerToken * 4));
}

function checkChunk(ctx: GpuContext, arch: Architecture, shape: ChunkShape): void {
  const { sequences, seqLen } = shape;
  if (!Number.isInteger(sequences) || sequences < 1 || !Number.isInteger(seqLen) || seqLen < 1) {
    throw new RangeError(`a chunk needs whole positive sequences and seqLen, got ${sequences} × ${seqLen}`);
  }
  const limit = bindingLimit(ctx);
  // The widest whole-chunk buffer is the one that binds; name it, since that is what the remedy is sized by.
  const spec = widest(wholeChunkSpecs(arch));
  const bytes = sequences * seqLen * spec.floatsPerToken * 4;
  if (bytes > limit) {
    const perToken = spec.floatsPerToken * 4;
    const fit = Math.floor(limit / (perToken * seqLen));
    const remedy =
      fit >= 1
        ? `lower the sequences per chunk to ${fit} or fewer`
        : `even one sequence is too long: lower seqLen to ${Math.floor(limit / perToken)} or fewer`;
    throw new ForwardMemoryError(
      `the ${spec.name} of ${sequences} sequences × ${seqLen} tokens needs ${mebibytes(bytes)}, more than this ` +
        `GPU's storage binding limit of ${mebibytes(limit)} (${spec.whole}): ${remedy}`,
    );
  }
  if (tokensPerSlice(ctx, arch) < 1) {
    const slice = widest(sliceSpecs(arch));
    throw new ForwardMemoryError(
      `the ${slice.name} of a single token needs ${mebibytes(slice.floatsPerToken * 4)}, more than this GPU's ` +
        `storage binding limit of ${mebibytes(limit)}: this model is too wide for this GPU`,
    );
  }
}

export class BlockRunner {
  /** Whole chunk: [tokens, q + 2·kv] and [tokens, q]. */
  private readonly qkv: GPUBuffer;
  private readonly attention: GPUBuffer;
  /** One token slice each. */
  private readonly normed: GPUBuffer;
  private readonly residual: GPUBuffer;
  private readonly up: GPUBuffer;
  private readonly activated: GPUBuffer;
  private readonly maxTokens: number;
  private readonly sliceCapacity: number;
  private rope?: { key: string; table: GPUBuffer };

  /**
   * Allocates the intermediates for chunks of up to `shape.sequences` × `shape.seqLen` tokens: the q|k|v and
   * attention output for all of them, the per-token intermediates for as many tokens as one binding holds.
   */
  constructor(
    readonly ctx: GpuContext,
    readonly arch: Architecture,
    shape: ChunkShape,
  ) {
    checkChunk(ctx, arch, shape);
    const tokens = shape.sequences * shape.seqLen;
    this.maxTokens = tokens;
    this.sliceCapacity = Math.min(tokens, tokensPerSlice(ctx, arch));
    const [, qkv, attention] = wholeChunkSpecs(arch).map((s) => s.floatsPerToken);
    this.qkv = createStorageBuffer(ctx, tokens * qkv * 4, 'block q|k|v projection');
    this.attention = createStorageBuffer(ctx, tokens * attention * 4, 'block attention output');
    const [normed, residual, up, activated] = sliceSpecs(arch).map((s) =>
      createStorageBuffer(ctx, this.sliceCapacity * s.floatsPerToken * 4, `block ${s.name}`),
    );
    this.normed = normed;
    this.residual = residual;
    this.up = up;
    this.activated = activated ?? up;
  }

  /** Tokens per slice of the per-token work: the whole chunk where it fits one binding. */
  get tokensPerSlice(): number {
    return this.sliceCapacity;
  }

  /**
   * Runs `weights` on `hidden` into `out` (both [sequences·seqLen, hidden], distinct buffers), calling `capture`
   * with the input of each of the block's input groups on the way: once for the whole chunk where the runner
   * holds that input whole (the attention output; the block input of post-norm blocks), otherwise once per token
   * slice, in token order.
   */
  async run(
    weights: BlockWeights,
    hidden: GPUBuffer,
    out: GPUBuffer,
    options: RunBlockOptions,
  ): Promise<void> {
    const { sequences, seqLen } = options;
    checkChunk(this.ctx, this.arch, options);
    const tokens = sequences * seqLen;
    if (tokens > this.maxTokens) {
      throw new RangeError(
        `this block runner was sized for ${this.maxTokens} tokens, got ${sequences} × ${seqLen}`,
      );
    }
    if (hidden === out)
      throw new Error('runBlock: the input and output hidden states must be different buffers');
    const hiddenBytes = tokens * this.arch.hiddenSize * 4;
    for (const [what, buffer] of [
      ['input', hidden],
      ['output', out],
    ] as const) {
      if (buffer.size < hiddenBytes) {
        throw new RangeError(
          `runBlock: the ${what} buffer has ${buffer.size} bytes, ${tokens} tokens need ${hiddenBytes}`,
        );
      }
    }
    await withErrorScope(this.ctx, `block ${weights.spec.index}`, () =>
      this.encode(weights, hidden, out, tokens, options),
    );
  }

  /** [first token, tokens] of each slice: as few as the slice buffers allow, of near-equal size. */
  private slices(tokens: number): Array<[number, number]> {
    const count = Math.ceil(tokens / this.sliceCapacity);
    const size = Math.ceil(tokens / count);
    const slices: Array<[number, number]> = [];
    for (let start = 0; start < tokens; start += size) slices.push([start, Math.min(size, tokens - start)]);
    return slices;
  }

  private async encode(
    weights: BlockWeights,
    hidden: GPUBuffer,
    out: GPUBuffer,
    tokens: number,
    options: RunBlockOptions,
  ): Promise<void> {
    const { ctx, arch } = this;
    const batch = new CommandBatch(ctx);
    const capture = async (group: InputGroup, X: GPUBuffer, rows: number) => {
      if (!options.capture) return;
      batch.submit();
      await options.capture(group, X, rows);
    };
    const norm = (
      which: 'attentionNorm' | 'mlpNorm',
      X: GPUBuffer,
      xRowStart: number,
      rows: number,
      Y: GPUBuffer,
      yRowStart = 0,
    ) =>
      encodeNorm(ctx, batch, {
        kind: arch.norm.kind,
        X,
        xRowStart,
        rows,
        features: arch.hiddenSize,
        eps: arch.norm.eps,
        weights: weights[which],
        Y,
        yRowStart,
      });
    const { attention, attention_output, mlp, mlp_output } = weights.groups;
    const slices = this.slices(tokens);

    // Attention sublayer: q|k|v goes into the whole-chunk buffer that attention reads. Pre-norm projects
    // norm(hidden) slice by slice; post-norm (OPT-350m) projects the block input, which is whole already.
    if (arch.normFirst) {
      for (const [start, count] of slices) {
        norm('attentionNorm', hidden, start, count, this.normed);
        await capture(attention.group, this.normed, count);
        encodeLinear(ctx, batch, {
          X: this.normed,
          tokens: count,
          W: attention.W,
          bias: attention.bias,
          Y: this.qkv,
          yRowStart: start,
        });
      }
    } else {
      await capture(attention.group, hidden, tokens);
      encodeLinear(ctx, batch, { X: hidden, tokens, W: attention.W, bias: attention.bias, Y: this.qkv });
    }
    this.encodeAttention(batch, tokens, options);
    await capture(attention_output.group, this.attention, tokens);

    // The rest is per token: o_proj, the residual add, the MLP, slice by slice into `out`.
    const gated = arch.mlp.kind === 'gated';
    for (const [start, count] of slices) {
      // Pre-norm keeps hidden + o_proj as the residual stream; post-norm normalises it into the stream first.
      encodeLinear(ctx, batch, {
        X: this.attention,
        xRowStart: start,
        tokens: count,
        W: attention_output.W,
        bias: attention_output.bias,
        residual: hidden,
        residualRowStart: start,
        Y: arch.normFirst ? this.residual : this.normed,
      });
      if (arch.normFirst) norm('mlpNorm', this.residual, 0, count, this.normed);
      else norm('attentionNorm', this.normed, 0, count, this.residual);
      const mlpInput = arch.normFirst ? this.normed : this.residual;
      await capture(mlp.group, mlpInput, count);
      encodeLinear(ctx, batch, {
        X: mlpInput,
        tokens: count,
        W: mlp.W,
        bias: mlp.bias,
        activation: gated ? 'identity' : arch.mlp.activation,
        Y: this.up,
      });
      if (gated) {
        encodeGatedActivation(ctx, batch, {
          gateUp: this.up,
          tokens: count,
          intermediate: arch.intermediateSize,
          activation: arch.mlp.activation,
          Y: this.activated,
        });
      }
      await capture(mlp_output.group, this.activated, count);
      encodeLinear(ctx, batch, {
        X: this.activated,
        tokens: count,
        W: mlp_output.W,
        bias: mlp_output.bias,
        residual: this.residual,
        Y: arch.normFirst ? out : this.normed,
        yRowStart: arch.normFirst ? start : 0,
      });
      if (!arch.normFirst) norm('mlpNorm', this.normed, 0, count, out, start);
    }
    batch.submit();
  }

  private encodeAttention(batch: CommandBatch, tokens: number, options: RunBlockOptions): void {
    const { arch, ctx } = this;
    const q = arch.heads * arch.headDim;
    const kv = arch.kvHeads * arch.headDim;
    const rowStride = q + 2 * kv;
    if (arch.rope) {
      encodeRotary(ctx, batch, {
        qkv: this.qkv,
        tokens,
        seqLen: options.seqLen,
        rowStride,
        rotatedHeads: arch.heads + arch.kvHeads,
        headDim: arch.headDim,
        rotaryDim: arch.rope.rotaryDim,
        table: this.ropeTable(options.seqLen, options.positionOffset ?? 0),
      });
    }
    encodeAttention(ctx, batch, {
      qkv: this.qkv,
      sequences: options.sequences,
      seqLen: options.seqLen,
      heads: arch.heads,
      kvHeads: arch.kvHeads,
      headDim: arch.headDim,
      rowStride,
      keyColumn: q,
      valueColumn: q + kv,
      scale: arch.attentionScale,
      out: this.attention,
      outStride: q,
    });
  }

  /** The (cos, sin) table for these positions, kept while consecutive calls use the same ones. */
  private ropeTable(seqLen: number, positionOffset: number): GPUBuffer {
    const key = `${seqLen}@${positionOffset}`;
    if (this.rope?.key !== key) {
      this.rope?.table.destroy();
      const table = Float32Array.from(ropeTable(this.arch.rope!, seqLen, positionOffset));
      this.rope = { key, table: uploadFloat32(this.ctx, table, 'rope table') };
    }
    return this.rope.table;
  }

  destroy(): void {
    const buffers = new Set([this.normed, this.residual, this.qkv, this.attention, this.up, this.activated]);
    for (const buffer of buffers) buffer.destroy();
    this.rope?.table.destroy();
    this.rope = undefined;
  }
}

/** One block call with its own intermediates; for many calls keep a BlockRunner. */
export async function runBlock(
  ctx: GpuContext,
  arch: Architecture,
  weights: BlockWeights,
  hidden: GPUBuffer,
  out: GPUBuffer,
  options: RunBlockOptions,
): Promise<void> {
  const runner = new BlockRunner(ctx, arch, options);
  try {
    await runner.run(weights, hidden, out, options);
  } finally {
    runner.destroy();
  }
}

/**
 * Runs one transformer block on the GPU over a chunk of calibration or evaluation sequences: hidden states in,
 * hidden states out, both row-major f32 [sequences·seqLen, hidden]. Each sequence is independent (causal attention
 * within it). Intermediate buffers are sized for the chunk and reused from block to block.
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
 *     //    capture(group, X, tokens) is called once per input group per chunk, in the order of
 *     //    arch.block(b).groups (attention, attention_output, mlp, mlp_output); X is [tokens, group.features]
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
import { createStorageBuffer, uploadFloat32 } from '../gpu/buffers';
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
import { bindingLimit, ForwardMemoryError, mebibytes } from './limits';
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
}

/** Floats per token of each intermediate buffer a block needs. */
function scratchSpecs(arch: Architecture): ScratchSpec[] {
  const q = arch.heads * arch.headDim;
  const kv = arch.kvHeads * arch.headDim;
  const gated = arch.mlp.kind === 'gated';
  const specs: ScratchSpec[] = [
    { name: 'hidden states', floatsPerToken: arch.hiddenSize },
    { name: 'q|k|v projection', floatsPerToken: q + 2 * kv },
    { name: 'attention output', floatsPerToken: q },
    {
      name: gated ? 'gate|up projection' : 'MLP intermediate',
      floatsPerToken: gated ? 2 * arch.intermediateSize : arch.intermediateSize,
    },
  ];
  if (gated) specs.push({ name: 'MLP intermediate', floatsPerToken: arch.intermediateSize });
  return specs;
}

/** The most sequences of seqLen tokens one block call can take within the device's storage binding limit. */
export function maxSequencesPerChunk(ctx: GpuContext, arch: Architecture, seqLen: number): number {
  const widest = Math.max(...scratchSpecs(arch).map((s) => s.floatsPerToken));
  return Math.floor(bindingLimit(ctx) / (widest * 4 * seqLen));
}

function checkChunk(ctx: GpuContext, arch: Architecture, shape: ChunkShape): void {
  const { sequences, seqLen } = shape;
  if (!Number.isInteger(sequences) || sequences < 1 || !Number.isInteger(seqLen) || seqLen < 1) {
    throw new RangeError(`a chunk needs whole positive sequences and seqLen, got ${sequences} × ${seqLen}`);
  }
  const limit = bindingLimit(ctx);
  for (const spec of scratchSpecs(arch)) {
    const bytes = sequences * seqLen * spec.floatsPerToken * 4;
    if (bytes <= limit) continue;
    const fit = maxSequencesPerChunk(ctx, arch, seqLen);
    const widest = Math.max(...scratchSpecs(arch).map((s) => s.floatsPerToken));
    const remedy =
      fit >= 1
        ? `lower the sequences per chunk to ${fit} or fewer`
        : `even one sequence is too long: lower seqLen to ${Math.floor(limit / (widest * 4))} or fewer`;
    throw new ForwardMemoryError(
      `the ${spec.name} of ${sequences} sequences × ${seqLen} tokens needs ${mebibytes(bytes)}, more than this ` +
        `GPU's storage binding limit of ${mebibytes(limit)}: ${remedy}`,
    );
  }
}

export class BlockRunner {
  private readonly normed: GPUBuffer;
  private readonly residual: GPUBuffer;
  private readonly qkv: GPUBuffer;
  private readonly attention: GPUBuffer;
  private readonly up: GPUBuffer;
  private readonly activated: GPUBuffer;
  private readonly maxTokens: number;
  private rope?: { key: string; table: GPUBuffer };

  /** Allocates the intermediates for chunks of up to `shape.sequences` × `shape.seqLen` tokens. */
  constructor(
    readonly ctx: GpuContext,
    readonly arch: Architecture,
    shape: ChunkShape,
  ) {
    checkChunk(ctx, arch, shape);
    const tokens = shape.sequences * shape.seqLen;
    this.maxTokens = tokens;
    const [hidden, qkv, attention, up, activated] = scratchSpecs(arch).map((s) =>
      createStorageBuffer(ctx, tokens * s.floatsPerToken * 4, `block ${s.name}`),
    );
    this.normed = hidden;
    this.residual = createStorageBuffer(ctx, tokens * arch.hiddenSize * 4, 'block residual stream');
    this.qkv = qkv;
    this.attention = attention;
    this.up = up;
    this.activated = activated ?? up;
  }

  /**
   * Runs `weights` on `hidden` into `out` (both [sequences·seqLen, hidden], distinct buffers), calling `capture`
   * with the input of each of the block's input groups on the way.
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

  private async encode(
    weights: BlockWeights,
    hidden: GPUBuffer,
    out: GPUBuffer,
    tokens: number,
    options: RunBlockOptions,
  ): Promise<void> {
    const { ctx, arch } = this;
    const H = arch.hiddenSize;
    const batch = new CommandBatch(ctx);
    const capture = async (group: InputGroup, X: GPUBuffer) => {
      if (!options.capture) return;
      batch.submit();
      await options.capture(group, X, tokens);
    };
    const norm = (X: GPUBuffer, which: 'attentionNorm' | 'mlpNorm', Y: GPUBuffer) =>
      encodeNorm(ctx, batch, {
        kind: arch.norm.kind,
        X,
        rows: tokens,
        features: H,
        eps: arch.norm.eps,
        weights: weights[which],
        Y,
      });
    const { attention, attention_output, mlp, mlp_output } = weights.groups;

    // Attention sublayer: pre-norm reads norm(hidden); post-norm (OPT-350m) normalises after the residual add.
    const attentionInput = arch.normFirst ? this.normed : hidden;
    if (arch.normFirst) norm(hidden, 'attentionNorm', this.normed);
    await capture(attention.group, attentionInput);
    encodeLinear(ctx, batch, {
      X: attentionInput,
      tokens,
      W: attention.W,
      bias: attention.bias,
      Y: this.qkv,
    });
    this.encodeAttention(batch, tokens, options);
    await capture(attention_output.group, this.attention);
    const afterAttention = arch.normFirst ? this.residual : this.normed;
    encodeLinear(ctx, batch, {
      X: this.attention,
      tokens,
      W: attention_output.W,
      bias: attention_output.bias,
      residual: hidden,
      Y: afterAttention,
    });
    if (!arch.normFirst) norm(afterAttention, 'attentionNorm', this.residual);

    // MLP sublayer, reading the residual stream this.residual.
    const mlpInput = arch.normFirst ? this.normed : this.residual;
    if (arch.normFirst) norm(this.residual, 'mlpNorm', this.normed);
    await capture(mlp.group, mlpInput);
    const gated = arch.mlp.kind === 'gated';
    encodeLinear(ctx, batch, {
      X: mlpInput,
      tokens,
      W: mlp.W,
      bias: mlp.bias,
      activation: gated ? 'identity' : arch.mlp.activation,
      Y: this.up,
    });
    if (gated) {
      encodeGatedActivation(ctx, batch, {
        gateUp: this.up,
        tokens,
        intermediate: arch.intermediateSize,
        activation: arch.mlp.activation,
        Y: this.activated,
      });
    }
    await capture(mlp_output.group, this.activated);
    encodeLinear(ctx, batch, {
      X: this.activated,
      tokens,
      W: mlp_output.W,
      bias: mlp_output.bias,
      residual: this.residual,
      Y: arch.normFirst ? out : this.normed,
    });
    if (!arch.normFirst) norm(this.normed, 'mlpNorm', out);
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

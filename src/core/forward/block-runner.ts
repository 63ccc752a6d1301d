/**
 * One transformer block on the GPU over a chunk of calibration or evaluation sequences: hidden states in, hidden
 * states out, both row-major f32 [sequences·seqLen, hidden]. Each sequence is independent (causal attention within
 * it). Intermediate buffers are sized for the chunk and reused from block to block.
 *
 * The block's math is in encodeBlock: the attention sublayer (norm, q|k|v projection, rotary, causal attention),
 * then per token o_proj with the residual add and the MLP with its own. Where a chunk is larger than one storage
 * binding, three splits keep every buffer bindable without changing a result bit (each in its own module):
 * token slices (token-slices.ts) for the per-token work, head groups (head-groups.ts) for attention, and token
 * ranges (token-ranges.ts) for the hidden states and the attention output. What must stay whole, and how many
 * sequences a chunk may hold, is in chunk-fit.ts; past that, a GpuLimitError says which sequences per chunk or
 * seqLen fit.
 *
 * How a model is driven (SequenceStates holds the chunks; model-forward.ts runs a dense model this way, and
 * pipeline/prune-model.ts prunes between the two runs of each block):
 *
 *   const runner = new BlockRunner(ctx, arch, { sequences: perChunk, seqLen });  // perChunk ≤ maxSequencesPerChunk
 *   for each block b: const weights = await uploadBlock(ctx, arch, b, source);
 *     await runner.run(weights, chunk.hidden, spare, { sequences, seqLen, capture });  // every chunk: H += XᵀX
 *     await pruneLayerInPlace(ctx, weights.linear(name), prepared, options);           // every linear, in place
 *     await runner.run(weights, chunk.hidden, spare, { sequences, seqLen });           // next block's inputs
 *
 * capture(group, X, tokens) is called for each input group in the order of arch.block(b).groups (attention,
 * attention_output, mlp, mlp_output): once per chunk, or once per token slice or token range, in token order, where
 * the input is computed or held in parts. X is [tokens, group.features] f32 on the GPU, valid only until the
 * callback's promise settles: HessianAccumulator.add(X, tokens) encodes on the same queue, so nothing is read back.
 * Evaluation windows that do not start at position 0 pass `positionOffset`.
 */
import { createStorageBuffer, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import type { Architecture, InputGroup } from './architecture';
import type { BlockWeights } from './block-weights';
import { type ChunkShape, requireChunkFits } from './chunk-fit';
import {
  encodeHeadGroupProjection,
  type HeadGroup,
  planHeadGroups,
  qkvFloatsPerToken,
  queriesPerKvHead,
} from './head-groups';
import { encodeAttention } from './kernels/attention';
import { encodeLinear } from './kernels/linear';
import { encodeNorm } from './kernels/norm';
import { encodeRotary } from './kernels/rotary';
import { encodeGatedActivation } from './kernels/swiglu';
import { ropeTable } from './rope';
import { queryRanges, tokensPerRange } from './token-ranges';
import { sliceSpecs, tokenSlices, tokensPerSlice } from './token-slices';

/**
 * Receives the exact f32 [tokens, group.features] input of a group's linears, on the GPU, before the block goes
 * on (the work encoded so far has been submitted; anything the callback submits runs before the block continues).
 * The buffer may be longer than tokens rows and is overwritten later: consume it, don't keep it.
 */
export type CaptureInput = (group: InputGroup, X: GPUBuffer, tokens: number) => void | Promise<void>;

/**
 * Hidden states [tokens, hidden]: one buffer, or a SplitMatrix split by token ranges where one buffer would exceed
 * the binding limit (see tokensPerRange).
 */
export type HiddenStates = GPUBuffer | SplitMatrix;

export interface RunBlockOptions extends ChunkShape {
  /** Position of each sequence's first token (default 0). */
  positionOffset?: number;
  capture?: CaptureInput;
}

/** One chunk's call: its recorder, weights, hidden states in and out, token slices, and the capture callback. */
interface BlockCall {
  recorder: CommandRecorder;
  weights: BlockWeights;
  hidden: SplitMatrix;
  out: SplitMatrix;
  tokens: number;
  slices: Array<[number, number]>;
  options: RunBlockOptions;
  capture(group: InputGroup, X: GPUBuffer, tokens: number): Promise<void>;
}

export class BlockRunner {
  /** Whole chunk: [tokens, the widest head group's q|k|v] in one buffer. */
  private readonly qkv: GPUBuffer;
  /** Whole chunk: [tokens, heads · headDim], split by token ranges where it exceeds one binding. */
  private readonly attention: SplitMatrix;
  /** One token slice each. */
  private readonly normed: GPUBuffer;
  private readonly residual: GPUBuffer;
  private readonly up: GPUBuffer;
  private readonly activated: GPUBuffer;
  private readonly maxTokens: number;
  private readonly sliceCapacity: number;
  /** Attention's head groups: one with every head unless the q|k|v of a chunk exceeds one binding. */
  readonly headGroups: readonly HeadGroup[];
  private rope?: { key: string; table: GPUBuffer };

  /**
   * Allocates the intermediates for chunks of up to `shape.sequences` × `shape.seqLen` tokens: the q|k|v of the
   * widest head group and the attention output (in token ranges where needed) for all of them, the per-token
   * intermediates for as many tokens as one binding holds.
   */
  constructor(
    readonly ctx: GpuContext,
    readonly arch: Architecture,
    shape: ChunkShape,
  ) {
    requireChunkFits(ctx, arch, shape);
    const tokens = shape.sequences * shape.seqLen;
    this.maxTokens = tokens;
    this.sliceCapacity = Math.min(tokens, tokensPerSlice(ctx, arch));
    this.headGroups = planHeadGroups(ctx, arch, tokens);
    const qkvWidth = qkvFloatsPerToken(arch, this.headGroups[0].kvHeads);
    this.qkv = createStorageBuffer(ctx, tokens * qkvWidth * 4, 'block q|k|v projection');
    this.attention = SplitMatrix.allocate(ctx, tokens, arch.heads * arch.headDim, 'block attention output', {
      maxRowsPerPart: tokensPerRange(ctx, arch),
    });
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

  /** Buffers of the attention output: 1 unless a chunk's exceeds one binding. */
  get attentionRanges(): number {
    return this.attention.parts.length;
  }

  /**
   * Runs `weights` on `hidden` into `out` (both [sequences·seqLen, hidden], one buffer or split by token ranges,
   * sharing no buffer), calling `capture` with the input of each of the block's input groups on the way: once
   * for the whole chunk where the runner holds that input whole (the attention output; the block input of
   * post-norm blocks), once per token range where it is held split, otherwise once per token slice; in token
   * order.
   */
  async run(
    weights: BlockWeights,
    hidden: HiddenStates,
    out: HiddenStates,
    options: RunBlockOptions,
  ): Promise<void> {
    const { ctx, arch } = this;
    const { sequences, seqLen } = options;
    requireChunkFits(ctx, arch, options);
    const tokens = sequences * seqLen;
    if (tokens > this.maxTokens) {
      throw new RangeError(
        `this block runner was sized for ${this.maxTokens} tokens, got ${sequences} × ${seqLen}`,
      );
    }
    const inputs = SplitMatrix.rowsOf(
      ctx,
      hidden,
      tokens,
      arch.hiddenSize,
      'runBlock: the input hidden states',
    );
    const outputs = SplitMatrix.rowsOf(
      ctx,
      out,
      tokens,
      arch.hiddenSize,
      'runBlock: the output hidden states',
    );
    if (hidden === out || inputs.sharesBufferWith(outputs))
      throw new Error('runBlock: the input and output hidden states must be different buffers');
    const recorder = new CommandRecorder(ctx, `block ${weights.spec.index}`);
    const call: BlockCall = {
      recorder,
      weights,
      hidden: inputs,
      out: outputs,
      tokens,
      slices: tokenSlices(tokens, [inputs, outputs, this.attention], this.sliceCapacity),
      options,
      capture: async (group, X, rows) => {
        if (!options.capture) return;
        recorder.submit();
        await options.capture(group, X, rows);
      },
    };
    try {
      await withErrorScope(ctx, `block ${weights.spec.index}`, () => this.encodeBlock(call));
    } finally {
      recorder.destroy();
    }
  }

  private async encodeBlock(call: BlockCall): Promise<void> {
    await this.encodeAttentionSublayer(call);
    // The rest is per token: o_proj with the residual add, then the MLP with its own, slice by slice into `out`.
    for (const [start, count] of call.slices) await this.encodeTokenSlice(call, start, count);
    call.recorder.submit();
  }

  /**
   * Attention, head group by head group (one group of every head unless the chunk's q|k|v exceeds one binding):
   * the group's q|k|v goes into the whole-chunk buffer that attention reads, and attention writes the group's
   * columns of the attention output. Pre-norm projects norm(hidden) slice by slice; post-norm (OPT-350m) projects
   * the block input, which the caller holds whole or in token ranges. The projection's input is captured with the
   * first group only; later groups normalise the slices again, since the normalised states are held one slice at
   * a time (the same arithmetic, and a small fraction of the projection's).
   */
  private async encodeAttentionSublayer(call: BlockCall): Promise<void> {
    const { recorder, weights, hidden, tokens } = call;
    const { attention, attention_output } = weights.groups;
    const project = (heads: HeadGroup, X: GPUBuffer, yRowStart: number, count: number) =>
      encodeHeadGroupProjection(this.ctx, recorder, this.arch, heads, {
        attention,
        X,
        tokens: count,
        qkv: this.qkv,
        yRowStart,
      });
    for (const [index, heads] of this.headGroups.entries()) {
      const first = index === 0;
      if (this.arch.normFirst) {
        for (const [start, count] of call.slices) {
          const x = hidden.rowsAt(start, count);
          this.norm(call, 'attentionNorm', x.buffer, x.row, count, this.normed);
          if (first) await call.capture(attention.group, this.normed, count);
          project(heads, this.normed, start, count);
        }
      } else {
        for (const [part, from, to] of hidden.overlaps(0, tokens)) {
          if (first) await call.capture(attention.group, part.buffer, to - from);
          project(heads, part.buffer, from, to - from);
        }
      }
      this.encodeAttention(call, heads);
    }
    for (const [part, from, to] of this.attention.overlaps(0, tokens)) {
      await call.capture(attention_output.group, part.buffer, to - from);
    }
  }

  /**
   * Rotates a head group's queries and keys in place, then writes its columns of the attention output, token
   * range by token range.
   */
  private encodeAttention(call: BlockCall, heads: HeadGroup): void {
    const { arch, ctx } = this;
    const { recorder, tokens } = call;
    const { seqLen, positionOffset } = call.options;
    const queryHeads = heads.kvHeads * queriesPerKvHead(arch);
    const keyColumn = queryHeads * arch.headDim;
    const kvWidth = heads.kvHeads * arch.headDim;
    const rowStride = keyColumn + 2 * kvWidth;
    if (arch.rope) {
      encodeRotary(ctx, recorder, {
        qkv: this.qkv,
        tokens,
        seqLen,
        rowStride,
        rotatedHeads: queryHeads + heads.kvHeads,
        headDim: arch.headDim,
        rotaryDim: arch.rope.rotaryDim,
        table: this.ropeTable(seqLen, positionOffset ?? 0),
      });
    }
    // Each token range of the attention output gets its own queries; they read keys from their sequence's start.
    for (const [part, from, to] of this.attention.overlaps(0, tokens)) {
      for (const queries of queryRanges(from, to, seqLen)) {
        encodeAttention(ctx, recorder, {
          qkv: this.qkv,
          ...queries,
          seqLen,
          heads: queryHeads,
          kvHeads: heads.kvHeads,
          headDim: arch.headDim,
          rowStride,
          keyColumn,
          valueColumn: keyColumn + kvWidth,
          scale: arch.attentionScale,
          out: part.buffer,
          outStride: arch.heads * arch.headDim,
          outColumn: heads.firstKvHead * queriesPerKvHead(arch) * arch.headDim,
          outRowOffset: part.firstRow,
        });
      }
    }
  }

  /** o_proj + residual, then the MLP + residual, for tokens [start, start + count) into `out`. */
  private async encodeTokenSlice(call: BlockCall, start: number, count: number): Promise<void> {
    const { ctx, arch } = this;
    const { recorder, weights } = call;
    const { attention_output, mlp, mlp_output } = weights.groups;
    const gated = arch.mlp.kind === 'gated';
    const attended = this.attention.rowsAt(start, count);
    const x = call.hidden.rowsAt(start, count);
    const y = call.out.rowsAt(start, count);
    // Pre-norm keeps hidden + o_proj as the residual stream; post-norm normalises it into the stream first.
    encodeLinear(ctx, recorder, {
      X: attended.buffer,
      xRowStart: attended.row,
      tokens: count,
      W: attention_output.W,
      bias: attention_output.bias,
      residual: x.buffer,
      residualRowStart: x.row,
      Y: arch.normFirst ? this.residual : this.normed,
    });
    if (arch.normFirst) this.norm(call, 'mlpNorm', this.residual, 0, count, this.normed);
    else this.norm(call, 'attentionNorm', this.normed, 0, count, this.residual);
    const mlpInput = arch.normFirst ? this.normed : this.residual;
    await call.capture(mlp.group, mlpInput, count);
    encodeLinear(ctx, recorder, {
      X: mlpInput,
      tokens: count,
      W: mlp.W,
      bias: mlp.bias,
      activation: gated ? 'identity' : arch.mlp.activation,
      Y: this.up,
    });
    if (gated) {
      encodeGatedActivation(ctx, recorder, {
        gateUp: this.up,
        tokens: count,
        intermediate: arch.intermediateSize,
        activation: arch.mlp.activation,
        Y: this.activated,
      });
    }
    await call.capture(mlp_output.group, this.activated, count);
    encodeLinear(ctx, recorder, {
      X: this.activated,
      tokens: count,
      W: mlp_output.W,
      bias: mlp_output.bias,
      residual: this.residual,
      Y: arch.normFirst ? y.buffer : this.normed,
      yRowStart: arch.normFirst ? y.row : 0,
    });
    if (!arch.normFirst) this.norm(call, 'mlpNorm', this.normed, 0, count, y.buffer, y.row);
  }

  private norm(
    call: BlockCall,
    which: 'attentionNorm' | 'mlpNorm',
    X: GPUBuffer,
    xRowStart: number,
    rows: number,
    Y: GPUBuffer,
    yRowStart = 0,
  ): void {
    encodeNorm(this.ctx, call.recorder, {
      kind: this.arch.norm.kind,
      X,
      xRowStart,
      rows,
      features: this.arch.hiddenSize,
      eps: this.arch.norm.eps,
      weights: call.weights[which],
      Y,
      yRowStart,
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
    const buffers = new Set([this.normed, this.residual, this.qkv, this.up, this.activated]);
    for (const buffer of buffers) buffer.destroy();
    this.attention.destroy();
    this.rope?.table.destroy();
    this.rope = undefined;
  }
}

/** One block call with its own intermediates; for many calls keep a BlockRunner. */
export async function runBlock(
  ctx: GpuContext,
  arch: Architecture,
  weights: BlockWeights,
  hidden: HiddenStates,
  out: HiddenStates,
  options: RunBlockOptions,
): Promise<void> {
  const runner = new BlockRunner(ctx, arch, options);
  try {
    await runner.run(weights, hidden, out, options);
  } finally {
    runner.destroy();
  }
}

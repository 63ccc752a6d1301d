/**
 * One transformer block on the GPU over a chunk of calibration or evaluation sequences: hidden states in, hidden
 * states out, both row-major f32 [sequences·seqLen, hidden]. Each sequence is independent (causal attention within
 * it). Intermediate buffers are sized for the chunk and reused from block to block.
 *
 * The block's math is in encodeBlock: the attention sublayer (norm, q|k|v projection, per-head q/k norms where the
 * family has them, rotary with the layer's RoPE, causal attention within the layer's sliding window and with the
 * model's score soft-capping), then per token o_proj with the residual add (Gemma: the attention output normalised
 * first) and the MLP with its own (Gemma: normalised first; mixtures of experts: routed, expert-mlp.ts). Where a chunk is larger than one storage
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
 * Mixture-of-experts blocks capture mlp and mlp_output once per expert (the group's `expert` set) with the rows of
 * the tokens routed to it, in expert order, only for experts that have rows; with expertCalibration 'all' every
 * expert gets every token's rows. Evaluation windows that do not start at position 0 pass `positionOffset`.
 *
 * Generation (src/core/generate) runs one sequence with a block's KV cache (kv-cache.ts) in `cache`: the call's keys
 * and values are stored at their positions after RoPE; a call at position 0 (the prompt) attends as any forward does,
 * a later call (each new token) attends over the cache. A new attention feature goes into both attention paths.
 */
import { createStorageBuffer, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import type { ExpertCalibration } from '../settings/prune-settings';
import type { Architecture, InputGroup } from './architecture';
import type { BlockWeights, GroupWeights } from './block-weights';
import { type ChunkShape, requireChunkFits } from './chunk-fit';
import { ExpertMlp } from './expert-mlp';
import {
  encodeHeadGroupProjection,
  type HeadGroup,
  planHeadGroups,
  qkvFloatsPerToken,
  queriesPerKvHead,
} from './head-groups';
import { encodeAttention } from './kernels/attention';
import { encodeHeadNorm } from './kernels/head-norm';
import { encodeLinear } from './kernels/linear';
import { encodeNorm, type NormWeights } from './kernels/norm';
import { encodeRotary } from './kernels/rotary';
import { encodeGatedActivation } from './kernels/swiglu';
import type { BlockKeyValues } from './kv-cache';
import { type RopeSpec, ropeTable } from './rope';
import { queryRanges, tokensPerRange } from './token-ranges';
import { blockSliceSpecs, mlpShape, tokenSlices, tokensPerSlice } from './token-slices';

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
  /** Mixtures of experts, while capturing: each expert's inputs over its routed tokens (default) or every token. */
  expertCalibration?: ExpertCalibration;
  /** Generation: this block's KV cache for the one sequence of the call (see the header). */
  cache?: BlockKeyValues;
  /**
   * The length of the whole sequence where the call runs a piece of it (generation): RoPE whose frequencies depend
   * on the length (dynamic, LongRoPE) takes them from it. Default: positionOffset + seqLen.
   */
  sequenceLength?: number;
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
  /** Mixture-of-experts blocks' router and experts, where the model has any. */
  private readonly experts?: ExpertMlp;
  /** RoPE tables by spec and positions: a model's layers use one or two (Gemma 3's local and global). */
  private readonly ropeTables = new Map<string, GPUBuffer>();

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
    const [normed, residual, up, activated] = blockSliceSpecs(arch).map((s) =>
      createStorageBuffer(ctx, this.sliceCapacity * s.floatsPerToken * 4, `block ${s.name}`),
    );
    this.normed = normed;
    this.residual = residual;
    this.up = up;
    this.activated = activated ?? up;
    const { experts } = mlpShape(arch);
    if (experts > 0) {
      this.experts = new ExpertMlp(ctx, arch, this.sliceCapacity, experts, this.up, this.activated);
    }
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
    if (options.cache && sequences !== 1) throw new RangeError('runBlock: a KV cache holds one sequence');
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
          this.norm(call, call.weights.attentionNorm, x.buffer, x.row, count, this.normed);
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
    const { seqLen, positionOffset, sequenceLength } = call.options;
    const { spec, qNorm, kNorm } = call.weights;
    const queryHeads = heads.kvHeads * queriesPerKvHead(arch);
    const keyColumn = queryHeads * arch.headDim;
    const kvWidth = heads.kvHeads * arch.headDim;
    const rowStride = keyColumn + 2 * kvWidth;
    if (qNorm && kNorm) {
      encodeHeadNorm(ctx, recorder, {
        qkv: this.qkv,
        tokens,
        rowStride,
        queryHeads,
        kvHeads: heads.kvHeads,
        headDim: arch.headDim,
        eps: arch.norm.eps,
        queryWeight: qNorm.weight,
        keyWeight: kNorm.weight,
      });
    }
    const rope = spec.rope ?? arch.rope;
    if (rope) {
      encodeRotary(ctx, recorder, {
        qkv: this.qkv,
        tokens,
        seqLen,
        rowStride,
        rotatedHeads: queryHeads + heads.kvHeads,
        headDim: arch.headDim,
        rotaryDim: rope.rotaryDim,
        table: this.ropeTable(rope, seqLen, positionOffset ?? 0, sequenceLength),
      });
    }
    const projection = { qkv: this.qkv, heads, rowStride, keyColumn, valueColumn: keyColumn + kvWidth };
    const { cache } = call.options;
    cache?.store(recorder, projection, tokens, positionOffset ?? 0);
    if (cache && (positionOffset ?? 0) > 0) {
      for (const [part, from, to] of this.attention.overlaps(0, tokens)) {
        cache.attend(recorder, {
          ...projection,
          queryRowStart: from,
          queries: to - from,
          position: positionOffset ?? 0,
          scale: arch.attentionScale,
          window: spec.slidingWindow,
          softcap: arch.attentionSoftcap,
          out: part.buffer,
          outStride: arch.heads * arch.headDim,
          outColumn: heads.firstKvHead * queriesPerKvHead(arch) * arch.headDim,
          outRowOffset: part.firstRow,
        });
      }
      return;
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
          window: spec.slidingWindow,
          softcap: arch.attentionSoftcap,
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
    if (this.arch.normFirst) await this.encodePreNormSlice(call, start, count);
    else await this.encodePostNormSlice(call, start, count);
  }

  /**
   * Pre-norm: h = x + o_proj(attention) (Gemma: x + norm(o_proj(attention))) into the residual stream, then
   * out = h + mlp(norm(h)) (Gemma: h + norm(mlp(norm(h))); a mixture of experts: h + Σ routed experts).
   */
  private async encodePreNormSlice(call: BlockCall, start: number, count: number): Promise<void> {
    const { weights } = call;
    const attended = this.attention.rowsAt(start, count);
    const x = call.hidden.rowsAt(start, count);
    const y = call.out.rowsAt(start, count);
    this.encodeSublayerOutput(call, {
      group: weights.groups.attention_output,
      X: attended.buffer,
      xRowStart: attended.row,
      tokens: count,
      postNorm: weights.postAttentionNorm,
      residual: x,
      Y: { buffer: this.residual, row: 0 },
    });
    this.norm(call, weights.mlpNorm, this.residual, 0, count, this.normed);
    if (weights.moe && this.experts) {
      const { moe } = weights.spec;
      if (!moe) throw new Error(`block ${weights.spec.index}: expert weights without a router spec`);
      await this.experts.encode({
        recorder: call.recorder,
        weights: weights.moe,
        spec: moe,
        normed: this.normed,
        tokens: count,
        residual: this.residual,
        out: { buffer: y.buffer, row: y.row },
        everyToken: call.options.capture !== undefined && call.options.expertCalibration === 'all',
        capture: call.capture,
      });
      return;
    }
    const down = await this.encodeDenseMlp(call, this.normed, count);
    this.encodeSublayerOutput(call, {
      group: down,
      X: this.activated,
      xRowStart: 0,
      tokens: count,
      postNorm: weights.postMlpNorm,
      residual: { buffer: this.residual, row: 0 },
      Y: { buffer: y.buffer, row: y.row },
    });
  }

  /**
   * Post-norm (OPT-350m): hidden + o_proj is normalised into the residual stream, and the MLP's output plus that
   * stream normalised again into `out`.
   */
  private async encodePostNormSlice(call: BlockCall, start: number, count: number): Promise<void> {
    const { ctx } = this;
    const { recorder, weights } = call;
    const attended = this.attention.rowsAt(start, count);
    const x = call.hidden.rowsAt(start, count);
    const y = call.out.rowsAt(start, count);
    const output = weights.groups.attention_output;
    encodeLinear(ctx, recorder, {
      X: attended.buffer,
      xRowStart: attended.row,
      tokens: count,
      W: output.W,
      bias: output.bias,
      residual: x.buffer,
      residualRowStart: x.row,
      Y: this.normed,
    });
    this.norm(call, weights.attentionNorm, this.normed, 0, count, this.residual);
    const down = await this.encodeDenseMlp(call, this.residual, count);
    encodeLinear(ctx, recorder, {
      X: this.activated,
      tokens: count,
      W: down.W,
      bias: down.bias,
      residual: this.residual,
      Y: this.normed,
    });
    this.norm(call, weights.mlpNorm, this.normed, 0, count, y.buffer, y.row);
  }

  /**
   * A sublayer's last linear and its way back into the residual stream: Y = X·Wᵀ + b + residual, or with a post
   * norm (Gemma) Y = norm(X·Wᵀ + b) + residual, the linear's output held in the normalised-states buffer (free by
   * then: the attention's and the MLP's inputs have been read).
   */
  private encodeSublayerOutput(
    call: BlockCall,
    args: {
      group: GroupWeights;
      X: GPUBuffer;
      xRowStart: number;
      tokens: number;
      postNorm?: NormWeights;
      residual: { buffer: GPUBuffer; row: number };
      Y: { buffer: GPUBuffer; row: number };
    },
  ): void {
    const { group, X, xRowStart, tokens, postNorm, residual, Y } = args;
    const linear = { X, xRowStart, tokens, W: group.W, bias: group.bias };
    if (!postNorm) {
      encodeLinear(this.ctx, call.recorder, {
        ...linear,
        residual: residual.buffer,
        residualRowStart: residual.row,
        Y: Y.buffer,
        yRowStart: Y.row,
      });
      return;
    }
    encodeLinear(this.ctx, call.recorder, { ...linear, Y: this.normed });
    this.norm(call, postNorm, this.normed, 0, tokens, Y.buffer, Y.row, residual);
  }

  /**
   * The dense MLP's input capture, gate|up (or fc1), activation and the capture of the down projection's input,
   * which is left in `activated`; returns the down projection's weights for the caller to apply.
   */
  private async encodeDenseMlp(call: BlockCall, input: GPUBuffer, count: number): Promise<GroupWeights> {
    const { ctx, arch } = this;
    const { recorder, weights } = call;
    const { mlp, mlp_output } = weights.groups;
    if (!mlp || !mlp_output) throw new Error(`block ${weights.spec.index} has no dense MLP`);
    const gated = arch.mlp.kind === 'gated';
    await call.capture(mlp.group, input, count);
    encodeLinear(ctx, recorder, {
      X: input,
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
        intermediate: mlp.group.rows / 2,
        activation: arch.mlp.activation,
        Y: this.activated,
      });
    }
    await call.capture(mlp_output.group, this.activated, count);
    return mlp_output;
  }

  private norm(
    call: BlockCall,
    weights: NormWeights,
    X: GPUBuffer,
    xRowStart: number,
    rows: number,
    Y: GPUBuffer,
    yRowStart = 0,
    residual?: { buffer: GPUBuffer; row: number },
  ): void {
    encodeNorm(this.ctx, call.recorder, {
      kind: this.arch.norm.kind,
      X,
      xRowStart,
      rows,
      features: this.arch.hiddenSize,
      eps: this.arch.norm.eps,
      weights,
      Y,
      yRowStart,
      ...(residual ? { residual: residual.buffer, residualRowStart: residual.row } : {}),
    });
  }

  /**
   * The (cos, sin) table of `rope` for these positions, kept while calls use it: a model's layers use one RoPE, or
   * two (Gemma 3's sliding layers their own base); a few are kept, so alternating layers do not rebuild theirs.
   * `sequenceLength` is the whole sequence's where a call runs a piece of it (generation).
   */
  private ropeTable(
    rope: RopeSpec,
    seqLen: number,
    positionOffset: number,
    sequenceLength = positionOffset + seqLen,
  ): GPUBuffer {
    const key = `${seqLen}@${positionOffset}/${sequenceLength} ${JSON.stringify(rope)}`;
    let table = this.ropeTables.get(key);
    if (!table) {
      if (this.ropeTables.size >= 4) this.dropRopeTables();
      const values = Float32Array.from(ropeTable(rope, seqLen, positionOffset, sequenceLength));
      table = uploadFloat32(this.ctx, values, 'rope table');
      this.ropeTables.set(key, table);
    }
    return table;
  }

  private dropRopeTables(): void {
    // Tables are read by work already submitted; WebGPU frees them once it has run.
    for (const table of this.ropeTables.values()) table.destroy();
    this.ropeTables.clear();
  }

  destroy(): void {
    const buffers = new Set([this.normed, this.residual, this.qkv, this.up, this.activated]);
    for (const buffer of buffers) buffer.destroy();
    this.attention.destroy();
    this.experts?.destroy();
    this.dropRopeTables();
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

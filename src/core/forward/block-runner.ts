/**
 * Runs one transformer block on the GPU over a chunk of calibration or evaluation sequences: hidden states in,
 * hidden states out, both row-major f32 [sequences·seqLen, hidden]. Each sequence is independent (causal attention
 * within it). Intermediate buffers are sized for the chunk and reused from block to block.
 *
 * Larger than one binding: attention needs the q|k|v of whole sequences, so the q|k|v projection holds the whole
 * chunk, but everything else is per token. Where the per-token intermediates of a chunk do not fit one storage
 * binding (the gate|up projection of one Llama-7B sequence of 2048 tokens is 172 MiB, the default binding limit
 * 128 MiB), the norms, the q|k|v projection, o_proj, the MLP and the residual adds run in token slices sized to
 * the limit. Where the q|k|v of the chunk does not fit (one Llama-7B sequence of 4096 tokens needs 192 MiB),
 * attention runs in head groups: a range of key/value heads with the query heads that read them (every head is its
 * own key/value head under multi-head attention) has its rows of the fused q|k|v weight projected into a buffer of
 * its own, rotated and attended to, and writes its columns of the attention output; then the next group reuses the
 * buffer. Where the hidden states or the attention output of the chunk do not fit one binding (one Llama-70B
 * sequence of 8192 tokens has 256 MiB of hidden states), they are held as several buffers split by token ranges
 * (SplitMatrix parts of tokensPerRange tokens; SequenceStates allocates the hidden states so): token slices never
 * straddle two buffers, and attention writes each range's queries, which read the keys of their sequence from its
 * start in the head group's q|k|v, into that range's buffer. The arithmetic of each token and head is the same
 * either way, so the output and every captured input are bit-identical to an unsplit run. What stays whole: the
 * q|k|v of one key/value head (with its query heads) for the whole chunk, and one token's row of each
 * intermediate; past those, a GpuLimitError says which sequences per chunk or seqLen fit.
 *
 * How the pruning pipeline drives a model (model-forward.ts does the same without pruning):
 *
 *   const arch = describeArchitecture(config, checkpointTensorNames);
 *   const source: TensorSource = (name) => checkpoint.readFloat32(name);   // any dtype → f32
 *   const perChunk = Math.min(wanted, maxSequencesPerChunk(ctx, arch, seqLen));  // 0 ⇒ seqLen too long
 *   // 1. Embed every chunk of sequences once (model-ends.ts; SequenceStates does all of this): uploadEmbedding →
 *   //    SplitMatrix.allocate(ctx, tokens, hidden, label, tokensPerRange(ctx, arch)) → embedInto(…) → destroy.
 *   // 2. One runner for the whole model, sized for the largest chunk (throws GpuLimitError, saying what to
 *   //    lower, past the storage binding limit):
 *   const runner = new BlockRunner(ctx, arch, { sequences: perChunk, seqLen });
 *   for (let b = 0; b < arch.numBlocks; b++) {
 *     const weights = await uploadBlock(ctx, arch, b, source);      // block-weights.ts; reads each tensor once
 *     // a. Calibration pass with the dense weights: for every chunk,
 *     await runner.run(weights, chunk.hidden, spare, { sequences: chunk.count, seqLen, capture });
 *     //    capture(group, X, tokens) is called for each input group in the order of arch.block(b).groups
 *     //    (attention, attention_output, mlp, mlp_output): once per chunk, or once per token slice or token range,
 *     //    in token order, where the input is computed or held in parts (see run). X is [tokens, group.features]
 *     //    f32 on the GPU, valid only until the callback's promise settles: HessianAccumulator.add(X, tokens)
 *     //    (one accumulator per group.role) encodes on the same queue, so no readback or copy is needed.
 *     //    Discard `spare` (the dense outputs) unless the dense block output is wanted for error reports.
 *     // b. Prune each group's linears with its Hessian; swap each result in, in [rows = out, cols = in]
 *     //    orientation (toOutIn / fromOutIn for GPT-2's transposed Conv1D tensors):
 *     weights.replaceLinear(linear.name, W);                          // Float32Array or GPUBuffer
 *     // c. Run every chunk again without capture; the outputs are the next block's inputs (swap the chunk's
 *     //    hidden states with `spare`: input and output must be different buffers).
 *     weights.destroy();
 *   }
 *   runner.destroy();
 *   // 3. uploadHead → nll(ctx, arch, head, chunk.hidden, targets) per chunk → head.destroy() (model-ends.ts).
 *
 * Evaluation windows that do not start at position 0 pass `positionOffset` to embed and run alike.
 */

import { formatBytes } from '../format-bytes';
import { createStorageBuffer, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { bindingLimit, GpuLimitError } from '../gpu/limits';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import type { Architecture, InputGroup } from './architecture';
import type { BlockWeights, GroupWeights } from './block-weights';
import { encodeAttention } from './kernels/attention';
import { encodeLinear } from './kernels/linear';
import { encodeNorm } from './kernels/norm';
import { encodeRotary } from './kernels/rotary';
import { encodeGatedActivation } from './kernels/swiglu';
import { ropeTable } from './rope';

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
 * A range of key/value heads with the query heads that read them (query head h reads key/value head
 * h / (heads / kvHeads), as transformers' repeat_kv does): the unit attention is split into when the q|k|v of a
 * chunk is larger than one binding. Its projection is stored [queries | keys | values] per token.
 */
export interface HeadGroup {
  firstKvHead: number;
  kvHeads: number;
}

/** Query heads per key/value head: 1 for multi-head attention. */
function queriesPerKvHead(arch: Architecture): number {
  return arch.heads / arch.kvHeads;
}

/** Floats per token of the q|k|v of `kvHeads` key/value heads and their query heads. */
function qkvFloatsPerToken(arch: Architecture, kvHeads: number): number {
  return kvHeads * (queriesPerKvHead(arch) + 2) * arch.headDim;
}

/** The smallest head group's q|k|v: the least of the projection that attention must hold for whole sequences. */
function oneHeadGroupSpec(arch: Architecture): ScratchSpec {
  const perKvHead = queriesPerKvHead(arch);
  return {
    name:
      perKvHead === 1
        ? 'q|k|v projection (split to one head per group)'
        : `q|k|v projection (split to one key/value head and its ${perKvHead} query heads per group)`,
    floatsPerToken: qkvFloatsPerToken(arch, 1),
    whole: 'attention reads whole sequences',
  };
}

/**
 * Buffers over every token of a chunk that are split by token ranges where they exceed one binding: the hidden
 * states in and out (the caller's) and the attention output (every head group writes its columns for every token
 * before o_proj reads a row).
 */
function tokenRangeSpecs(arch: Architecture): ScratchSpec[] {
  return [
    { name: 'hidden states', floatsPerToken: arch.hiddenSize },
    { name: 'attention output', floatsPerToken: arch.heads * arch.headDim },
  ];
}

/** The whole q|k|v of a chunk, one buffer on the fast path (one fused projection, no head groups). */
function fusedQkvSpec(arch: Architecture): ScratchSpec {
  return { name: 'q|k|v projection', floatsPerToken: qkvFloatsPerToken(arch, arch.kvHeads) };
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

/** How many chunks of `tokens` the binding limit holds for a buffer of `spec`. */
function fitting(ctx: GpuContext, spec: ScratchSpec, tokens: number): number {
  return Math.floor(bindingLimit(ctx) / (spec.floatsPerToken * 4 * tokens));
}

/**
 * Sequences per block call: as many as run on the fast path, with the hidden states, the attention output and the
 * whole q|k|v in one buffer each and the per-token work unsliced (the splits give the same block output, but
 * token slices and ranges capture in smaller batches, and Hessians summed in other batches round differently), or
 * 1 where one sequence runs only split: in token slices (Llama-7B at seqLen 2048: its gate|up projection is
 * 172 MiB, the default binding limit 128 MiB), with attention in head groups (Llama-7B at seqLen 4096: its q|k|v
 * is 192 MiB) and/or with its hidden states and attention output in token ranges (Llama-70B at seqLen 8192: its
 * hidden states are 256 MiB). A BlockRunner takes larger chunks too, up to what one head group's q|k|v allows. 0
 * only when the q|k|v of one key/value head and its query heads for one sequence, or one token's row of an
 * intermediate, does not fit one binding; the BlockRunner then says which seqLen does.
 */
export function maxSequencesPerChunk(ctx: GpuContext, arch: Architecture, seqLen: number): number {
  const fastPath = widest([...tokenRangeSpecs(arch), fusedQkvSpec(arch), ...sliceSpecs(arch)]);
  const unsplit = fitting(ctx, fastPath, seqLen);
  if (unsplit >= 1) return unsplit;
  return fitting(ctx, oneHeadGroupSpec(arch), seqLen) >= 1 && rowsFit(ctx, arch) ? 1 : 0;
}

/** The most tokens one slice of the per-token work may hold. */
function tokensPerSlice(ctx: GpuContext, arch: Architecture): number {
  return fitting(ctx, widest(sliceSpecs(arch)), 1);
}

/**
 * Tokens per buffer of hidden states and of the attention output where a chunk's do not fit one binding: one
 * count for both, so that they split at the same tokens and the token slices between them stay long.
 */
export function tokensPerRange(ctx: GpuContext, arch: Architecture): number {
  return fitting(ctx, widest(tokenRangeSpecs(arch)), 1);
}

/** The widest row that one token needs in one binding, whatever else is split. */
function widestRow(arch: Architecture): ScratchSpec {
  return widest([...tokenRangeSpecs(arch), ...sliceSpecs(arch)]);
}

function rowsFit(ctx: GpuContext, arch: Architecture): boolean {
  return fitting(ctx, widestRow(arch), 1) >= 1;
}

/**
 * Head groups for chunks of `tokens`: one holding every head where the chunk's whole q|k|v fits one binding (the
 * fused projection as one matmul, the fast path), otherwise as few groups of near-equal size as fit. The chunk
 * must have passed requireChunkFits, so that one key/value head always fits.
 */
function planHeadGroups(ctx: GpuContext, arch: Architecture, tokens: number): HeadGroup[] {
  const fit = Math.min(arch.kvHeads, fitting(ctx, oneHeadGroupSpec(arch), tokens));
  if (fit < 1)
    throw new RangeError(`one key/value head's q|k|v of ${tokens} tokens exceeds the binding limit`);
  const size = Math.ceil(arch.kvHeads / Math.ceil(arch.kvHeads / fit));
  const groups: HeadGroup[] = [];
  for (let first = 0; first < arch.kvHeads; first += size) {
    groups.push({ firstKvHead: first, kvHeads: Math.min(size, arch.kvHeads - first) });
  }
  return groups;
}

/** Rows [rowStart, rowStart + rows) of the fused q|k|v weight, written from `column` of a head group's q|k|v. */
interface ProjectionPart {
  rowStart: number;
  rows: number;
  column: number;
}

/**
 * The rows of the fused q|k|v weight (queries, then keys, then values, each head headDim rows) that project a head
 * group, merged where contiguous: a group of every head is the whole weight in one matmul, as on the fast path.
 */
function projectionParts(arch: Architecture, group: HeadGroup): ProjectionPart[] {
  const { headDim } = arch;
  const queryRows = group.kvHeads * queriesPerKvHead(arch) * headDim;
  const kvRows = group.kvHeads * headDim;
  const q = arch.heads * headDim;
  const kv = arch.kvHeads * headDim;
  const parts: ProjectionPart[] = [
    { rowStart: group.firstKvHead * queriesPerKvHead(arch) * headDim, rows: queryRows, column: 0 },
    { rowStart: q + group.firstKvHead * headDim, rows: kvRows, column: queryRows },
    { rowStart: q + kv + group.firstKvHead * headDim, rows: kvRows, column: queryRows + kvRows },
  ];
  const merged: ProjectionPart[] = [];
  for (const part of parts) {
    const last = merged[merged.length - 1];
    if (last && last.rowStart + last.rows === part.rowStart && last.column + last.rows === part.column) {
      last.rows += part.rows;
    } else {
      merged.push({ ...part });
    }
  }
  return merged;
}

/**
 * Throws a GpuLimitError, saying which sequences per chunk or seqLen fit, where a BlockRunner cannot take
 * chunks of this shape; checked where the hidden states are embedded too, so that a forward fails before any work.
 */
export function requireChunkFits(ctx: GpuContext, arch: Architecture, shape: ChunkShape): void {
  const { sequences, seqLen } = shape;
  if (!Number.isInteger(sequences) || sequences < 1 || !Number.isInteger(seqLen) || seqLen < 1) {
    throw new RangeError(`a chunk needs whole positive sequences and seqLen, got ${sequences} × ${seqLen}`);
  }
  const limit = bindingLimit(ctx);
  // The one buffer that must hold the whole chunk: the smallest head group's q|k|v, since attention reads every
  // key of a sequence. Name it, since that is what the remedy is sized by.
  const spec = oneHeadGroupSpec(arch);
  const bytes = sequences * seqLen * spec.floatsPerToken * 4;
  if (bytes > limit) {
    const fit = fitting(ctx, spec, seqLen);
    const remedy =
      fit >= 1
        ? `lower the sequences per chunk to ${fit} or fewer`
        : `even one sequence is too long: lower seqLen to ${fitting(ctx, spec, 1)} or fewer`;
    throw new GpuLimitError(
      `the ${spec.name} of ${sequences} sequences × ${seqLen} tokens needs ${formatBytes(bytes)}, more than this ` +
        `GPU's storage binding limit of ${formatBytes(limit)} (${spec.whole}): ${remedy}`,
    );
  }
  if (!rowsFit(ctx, arch)) {
    const row = widestRow(arch);
    throw new GpuLimitError(
      `the ${row.name} of a single token needs ${formatBytes(row.floatsPerToken * 4)}, more than this GPU's ` +
        `storage binding limit of ${formatBytes(limit)}: this model is too wide for this GPU`,
    );
  }
}

/** Queries of one attention dispatch: positions [queryStart, queryEnd) of `sequences` sequences from firstSequence. */
interface QueryRange {
  firstSequence: number;
  sequences: number;
  queryStart: number;
  queryEnd: number;
}

/**
 * The dispatches that attend to the tokens [from, to) of a chunk of sequences of seqLen: whole sequences in one,
 * a range's partial first and last sequences in one each. One dispatch of every sequence for the whole chunk.
 */
function queryRanges(from: number, to: number, seqLen: number): QueryRange[] {
  const ranges: QueryRange[] = [];
  for (let token = from; token < to; ) {
    const sequence = Math.floor(token / seqLen);
    const queryStart = token - sequence * seqLen;
    const whole = queryStart === 0 ? Math.floor((to - token) / seqLen) : 0;
    if (whole > 0) {
      ranges.push({ firstSequence: sequence, sequences: whole, queryStart: 0, queryEnd: seqLen });
      token += whole * seqLen;
    } else {
      const queryEnd = Math.min(seqLen, to - sequence * seqLen);
      ranges.push({ firstSequence: sequence, sequences: 1, queryStart, queryEnd });
      token = sequence * seqLen + queryEnd;
    }
  }
  return ranges;
}

/** [first token, tokens] of as few slices of [first, first + tokens) as `capacity` allows, of near-equal size. */
function evenSlices(first: number, tokens: number, capacity: number): Array<[number, number]> {
  const count = Math.ceil(tokens / capacity);
  const size = Math.ceil(tokens / count);
  const slices: Array<[number, number]> = [];
  for (let start = 0; start < tokens; start += size)
    slices.push([first + start, Math.min(size, tokens - start)]);
  return slices;
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
    const { sequences, seqLen } = options;
    requireChunkFits(this.ctx, this.arch, options);
    const tokens = sequences * seqLen;
    if (tokens > this.maxTokens) {
      throw new RangeError(
        `this block runner was sized for ${this.maxTokens} tokens, got ${sequences} × ${seqLen}`,
      );
    }
    const H = this.arch.hiddenSize;
    const inputs = SplitMatrix.rowsOf(this.ctx, hidden, tokens, H, 'runBlock: the input hidden states');
    const outputs = SplitMatrix.rowsOf(this.ctx, out, tokens, H, 'runBlock: the output hidden states');
    if (hidden === out || inputs.sharesBufferWith(outputs))
      throw new Error('runBlock: the input and output hidden states must be different buffers');
    await withErrorScope(this.ctx, `block ${weights.spec.index}`, () =>
      this.encode(weights, inputs, outputs, tokens, options),
    );
  }

  /**
   * [first token, tokens] of each slice: the chunk is cut where any of `split` starts another buffer, so that no
   * slice straddles two, and each piece goes in as few slices as the slice buffers allow, of near-equal size.
   * Where everything is one buffer, these are the slices of the whole chunk.
   */
  private slices(tokens: number, split: SplitMatrix[]): Array<[number, number]> {
    const cuts = new Set([0, tokens]);
    for (const matrix of split) {
      for (const shard of matrix.parts) if (shard.firstRow < tokens) cuts.add(shard.firstRow);
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    return bounds.slice(1).flatMap((end, i) => evenSlices(bounds[i], end - bounds[i], this.sliceCapacity));
  }

  private async encode(
    weights: BlockWeights,
    hidden: SplitMatrix,
    out: SplitMatrix,
    tokens: number,
    options: RunBlockOptions,
  ): Promise<void> {
    const recorder = new CommandRecorder(this.ctx, `block ${weights.spec.index}`);
    try {
      await this.encodeWith(recorder, weights, hidden, out, tokens, options);
      recorder.submit();
    } finally {
      recorder.destroy();
    }
  }

  private async encodeWith(
    recorder: CommandRecorder,
    weights: BlockWeights,
    hidden: SplitMatrix,
    out: SplitMatrix,
    tokens: number,
    options: RunBlockOptions,
  ): Promise<void> {
    const { ctx, arch } = this;
    const capture = async (group: InputGroup, X: GPUBuffer, rows: number) => {
      if (!options.capture) return;
      recorder.submit();
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
      encodeNorm(ctx, recorder, {
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
    const slices = this.slices(tokens, [hidden, out, this.attention]);

    // Attention sublayer, head group by head group (one group of every head unless the chunk's q|k|v exceeds one
    // binding): the group's q|k|v goes into the whole-chunk buffer that attention reads, and attention writes the
    // group's columns of the attention output. Pre-norm projects norm(hidden) slice by slice; post-norm (OPT-350m)
    // projects the block input, which the caller holds whole or in token ranges. The projection's input is
    // captured with the first group only; later groups normalise the slices again, since the normalised states
    // are held one slice at a time (the same arithmetic, and a small fraction of the projection's).
    for (const [index, heads] of this.headGroups.entries()) {
      const first = index === 0;
      if (arch.normFirst) {
        for (const [start, count] of slices) {
          const x = hidden.rowsAt(start, count);
          norm('attentionNorm', x.buffer, x.row, count, this.normed);
          if (first) await capture(attention.group, this.normed, count);
          this.encodeProjection(recorder, attention, heads, this.normed, start, count);
        }
      } else {
        for (const [shard, from, to] of hidden.overlaps(0, tokens)) {
          if (first) await capture(attention.group, shard.buffer, to - from);
          this.encodeProjection(recorder, attention, heads, shard.buffer, from, to - from);
        }
      }
      this.encodeAttention(recorder, heads, tokens, options);
    }
    for (const [shard, from, to] of this.attention.overlaps(0, tokens)) {
      await capture(attention_output.group, shard.buffer, to - from);
    }

    // The rest is per token: o_proj, the residual add, the MLP, slice by slice into `out`.
    const gated = arch.mlp.kind === 'gated';
    for (const [start, count] of slices) {
      const attended = this.attention.rowsAt(start, count);
      const x = hidden.rowsAt(start, count);
      const y = out.rowsAt(start, count);
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
      if (arch.normFirst) norm('mlpNorm', this.residual, 0, count, this.normed);
      else norm('attentionNorm', this.normed, 0, count, this.residual);
      const mlpInput = arch.normFirst ? this.normed : this.residual;
      await capture(mlp.group, mlpInput, count);
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
      await capture(mlp_output.group, this.activated, count);
      encodeLinear(ctx, recorder, {
        X: this.activated,
        tokens: count,
        W: mlp_output.W,
        bias: mlp_output.bias,
        residual: this.residual,
        Y: arch.normFirst ? y.buffer : this.normed,
        yRowStart: arch.normFirst ? y.row : 0,
      });
      if (!arch.normFirst) norm('mlpNorm', this.normed, 0, count, y.buffer, y.row);
    }
  }

  /**
   * Encodes a head group's q|k|v for `tokens` rows of X into rows [yRowStart, …) of the q|k|v buffer, stored
   * [queries | keys | values] per token: only the group's rows of the fused weight (and bias) are applied.
   */
  private encodeProjection(
    recorder: CommandRecorder,
    attention: GroupWeights,
    heads: HeadGroup,
    X: GPUBuffer,
    yRowStart: number,
    tokens: number,
  ): void {
    const width = qkvFloatsPerToken(this.arch, heads.kvHeads);
    for (const part of projectionParts(this.arch, heads)) {
      encodeLinear(this.ctx, recorder, {
        X,
        tokens,
        W: attention.W,
        rowStart: part.rowStart,
        rows: part.rows,
        bias: attention.bias,
        Y: this.qkv,
        yRowStart,
        outStride: width,
        outColumnStart: part.column,
      });
    }
  }

  /**
   * Rotates a head group's queries and keys in place, then writes its columns of the attention output, token
   * range by token range.
   */
  private encodeAttention(
    recorder: CommandRecorder,
    heads: HeadGroup,
    tokens: number,
    options: RunBlockOptions,
  ): void {
    const { arch, ctx } = this;
    const queryHeads = heads.kvHeads * queriesPerKvHead(arch);
    const keyColumn = queryHeads * arch.headDim;
    const kvWidth = heads.kvHeads * arch.headDim;
    const rowStride = keyColumn + 2 * kvWidth;
    if (arch.rope) {
      encodeRotary(ctx, recorder, {
        qkv: this.qkv,
        tokens,
        seqLen: options.seqLen,
        rowStride,
        rotatedHeads: queryHeads + heads.kvHeads,
        headDim: arch.headDim,
        rotaryDim: arch.rope.rotaryDim,
        table: this.ropeTable(options.seqLen, options.positionOffset ?? 0),
      });
    }
    // Each token range of the attention output gets its own queries; they read keys from their sequence's start.
    for (const [shard, from, to] of this.attention.overlaps(0, tokens)) {
      for (const queries of queryRanges(from, to, options.seqLen)) {
        encodeAttention(ctx, recorder, {
          qkv: this.qkv,
          ...queries,
          seqLen: options.seqLen,
          heads: queryHeads,
          kvHeads: heads.kvHeads,
          headDim: arch.headDim,
          rowStride,
          keyColumn,
          valueColumn: keyColumn + kvWidth,
          scale: arch.attentionScale,
          out: shard.buffer,
          outStride: arch.heads * arch.headDim,
          outColumn: heads.firstKvHead * queriesPerKvHead(arch) * arch.headDim,
          outRowOffset: shard.firstRow,
        });
      }
    }
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

/**
 * Host for shaders/forward/attention_causal.wgsl: causal multi-head (grouped-query) attention over a fused q|k|v
 * buffer, with an optional sliding window and score soft-capping.
 */
import activations from '../../../../shaders/forward/activations.wgsl?raw';
import shader from '../../../../shaders/forward/attention_causal.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { groupsAlong, requireWorkgroupMemory } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import { type CommandRecorder, f32 } from '../../gpu/recorder';
import { specialize } from '../../gpu/wgsl-variants';

/**
 * What both attention kernels (this one and attention-decode.ts's) take beyond their queries and keys: how scores
 * are scaled, windowed and capped, and where the head group's output goes.
 */
export interface AttentionScoresAndOutput {
  scale: number;
  /** Sliding window: query i sees keys j with i − window < j ≤ i (default: every key up to i). */
  window?: number;
  /** Scores ← softcap · tanh(scores / softcap) before the mask (Gemma 2; default none). */
  softcap?: number;
  out: GPUBuffer;
  outStride: number;
  /** Column of `out` that query head 0 writes to (default 0): a head group's place in the full output. */
  outColumn?: number;
  /**
   * The q|k|v row whose output goes to row 0 of `out` (default 0): the first token of one token range's buffer
   * where the attention output is split by token ranges.
   */
  outRowOffset?: number;
}

export interface AttentionArgs extends AttentionScoresAndOutput {
  qkv: GPUBuffer;
  /** Sequences attended to by this dispatch, from `firstSequence` on (default 0) in the q|k|v buffer. */
  sequences: number;
  firstSequence?: number;
  seqLen: number;
  /** The query positions of each sequence written (default: all, [0, seqLen)); keys are read from position 0. */
  queryStart?: number;
  queryEnd?: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rowStride: number;
  keyColumn: number;
  valueColumn: number;
}

const QUERY_TILE = 32;
const MAX_KEY_TILE = 32;

/** Keys per tile: as many as the K and V tiles fit in workgroup memory, up to 32. */
export function keyTile(ctx: GpuContext, headDim: number): number {
  const perKey = 2 * headDim * 4;
  requireWorkgroupMemory(
    ctx,
    perKey,
    `attention: one key of a head dimension of ${headDim}`,
    'this model is too wide for this GPU',
  );
  return Math.min(MAX_KEY_TILE, Math.floor(ctx.limits.maxComputeWorkgroupStorageSize / perKey));
}

export function encodeAttention(ctx: GpuContext, recorder: CommandRecorder, args: AttentionArgs): void {
  if (args.sequences === 0 || args.seqLen === 0) return;
  if (args.heads % args.kvHeads !== 0) {
    throw new RangeError(
      `attention: ${args.heads} heads cannot share ${args.kvHeads} key/value heads evenly`,
    );
  }
  const firstSequence = args.firstSequence ?? 0;
  const queryStart = args.queryStart ?? 0;
  const queryEnd = args.queryEnd ?? args.seqLen;
  const outRowOffset = args.outRowOffset ?? 0;
  if (!(queryStart < queryEnd && queryEnd <= args.seqLen)) {
    throw new RangeError(
      `attention: queries [${queryStart}, ${queryEnd}) are not a range of ${args.seqLen} positions`,
    );
  }
  if (outRowOffset > firstSequence * args.seqLen + queryStart) {
    throw new RangeError(`attention: output row offset ${outRowOffset} is past the first query's row`);
  }
  if (args.window !== undefined && !(Number.isInteger(args.window) && args.window >= 1)) {
    throw new RangeError(
      `attention: a sliding window must be a whole number of keys ≥ 1, got ${args.window}`,
    );
  }
  // 0 in the kernel: no window.
  const window = args.window ?? 0;
  const softcap = args.softcap ?? 0;
  if (!(softcap >= 0)) throw new RangeError(`attention: the soft cap must be positive, got ${softcap}`);
  const code = specialize(activations + shader, {
    HEAD_DIM: args.headDim,
    KEY_TILE: keyTile(ctx, args.headDim),
    QUERY_TILE,
  });
  const params = recorder.params([
    args.seqLen,
    args.rowStride,
    args.keyColumn,
    args.valueColumn,
    args.outStride,
    args.heads / args.kvHeads,
    args.outColumn ?? 0,
    firstSequence,
    queryStart,
    queryEnd,
    outRowOffset,
    f32(args.scale),
    window,
    f32(softcap),
  ]);
  recorder.dispatch(
    computePipeline(ctx, code),
    [args.qkv, args.out, params],
    groupsAlong(ctx, queryEnd - queryStart, QUERY_TILE, 'attention: sequence length'),
    groupsAlong(ctx, args.heads, 1, 'attention: heads'),
    groupsAlong(ctx, args.sequences, 1, 'attention: sequences per batch'),
  );
}

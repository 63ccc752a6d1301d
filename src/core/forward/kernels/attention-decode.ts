/**
 * Host for shaders/forward/attention_decode.wgsl: the queries of a few new tokens attend over a KV cache split by
 * positions, one dispatch per cache part folding into an online-softmax state, the last writing the output.
 */
import activations from '../../../../shaders/forward/activations.wgsl?raw';
import shader from '../../../../shaders/forward/attention_decode.wgsl?raw';
import { placeholderBuffer } from '../../gpu/buffers';
import type { GpuContext } from '../../gpu/context';
import { groupsAlong } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import { type CommandRecorder, f32 } from '../../gpu/recorder';
import type { MatrixPart } from '../../gpu/split-matrix';
import { specialize } from '../../gpu/wgsl-variants';
import type { AttentionScoresAndOutput } from './attention';

/** Floats of online-softmax state per (query row, head): running max, running sum, the unnormalised output. */
export function decodeStateFloats(headDim: number): number {
  return headDim + 2;
}

/** The window is over positions: a query at p sees positions j with p − window < j ≤ p. */
export interface DecodeAttentionArgs extends AttentionScoresAndOutput {
  /** The head group's fused q|k|v: its query heads from column 0, `rowStride` floats per token. */
  qkv: GPUBuffer;
  rowStride: number;
  /** Query rows [queryRowStart, queryRowStart + queries) of qkv; row r is the token at queryPosition + r. */
  queryRowStart: number;
  queries: number;
  queryPosition: number;
  /** Query heads of the group, and how many of them read one key/value head. */
  heads: number;
  groupSize: number;
  headDim: number;
  /** The cache's parts in position order (keys and values split alike), and its width and the group's column. */
  keys: readonly MatrixPart[];
  values: readonly MatrixPart[];
  cacheStride: number;
  cacheColumn: number;
  /** Where the fold is kept between parts: queries · heads · decodeStateFloats(headDim) floats (several parts only). */
  state?: GPUBuffer;
  outColumn: number;
  outRowOffset: number;
}

export function encodeDecodeAttention(
  ctx: GpuContext,
  recorder: CommandRecorder,
  args: DecodeAttentionArgs,
): void {
  if (args.queries === 0) return;
  if (args.keys.length !== args.values.length || args.keys.length === 0) {
    throw new RangeError('decode attention: the key and value caches must have the same parts');
  }
  if (args.keys.length > 1 && !args.state) {
    throw new RangeError('decode attention: a cache of several parts needs a state buffer');
  }
  if (args.window !== undefined && !(Number.isInteger(args.window) && args.window >= 1)) {
    throw new RangeError(`decode attention: a sliding window must be a whole number ≥ 1, got ${args.window}`);
  }
  const softcap = args.softcap ?? 0;
  if (!(softcap >= 0))
    throw new RangeError(`decode attention: the soft cap must be positive, got ${softcap}`);
  const pipeline = computePipeline(ctx, specialize(activations + shader, { HEAD_DIM: args.headDim }));
  const rows = groupsAlong(ctx, args.queries, 1, 'decode attention: query tokens');
  const heads = groupsAlong(ctx, args.heads, 1, 'decode attention: heads');
  const last = args.keys.length - 1;
  args.keys.forEach((keys, index) => {
    const values = args.values[index];
    if (values.firstRow !== keys.firstRow || values.rows !== keys.rows) {
      throw new RangeError('decode attention: the key and value caches are split differently');
    }
    const params = recorder.params([
      args.queryRowStart,
      args.queryPosition,
      args.rowStride,
      args.groupSize,
      args.cacheStride,
      args.cacheColumn,
      keys.firstRow,
      keys.rows,
      index === 0 ? 1 : 0,
      index === last ? 1 : 0,
      args.outStride,
      args.outColumn,
      args.outRowOffset,
      args.window ?? 0,
      f32(args.scale),
      f32(softcap),
    ]);
    const state = args.state ?? placeholderBuffer(ctx);
    recorder.dispatch(pipeline, [args.qkv, keys.buffer, values.buffer, state, args.out, params], rows, heads);
  });
}

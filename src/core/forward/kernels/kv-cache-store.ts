/** Host for shaders/forward/kv_cache_store.wgsl: new tokens' rotated keys and values into the KV cache. */
import shader from '../../../../shaders/forward/kv_cache_store.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { workgroupGrid } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import type { CommandRecorder } from '../../gpu/recorder';

export interface CacheStoreArgs {
  qkv: GPUBuffer;
  rowStride: number;
  /** Tokens qkv rows [qkvRow, qkvRow + tokens) go to cache part rows [cacheRow, cacheRow + tokens). */
  qkvRow: number;
  tokens: number;
  keyColumn: number;
  valueColumn: number;
  /** Floats per token of the group's keys (= of its values). */
  width: number;
  keys: GPUBuffer;
  values: GPUBuffer;
  cacheRow: number;
  cacheStride: number;
  cacheColumn: number;
}

export function encodeCacheStore(ctx: GpuContext, recorder: CommandRecorder, args: CacheStoreArgs): void {
  if (args.tokens === 0 || args.width === 0) return;
  const params = recorder.params([
    args.tokens,
    args.width,
    args.qkvRow,
    args.rowStride,
    args.keyColumn,
    args.valueColumn,
    args.cacheRow,
    args.cacheStride,
    args.cacheColumn,
  ]);
  recorder.dispatch(
    computePipeline(ctx, shader),
    [args.qkv, args.keys, args.values, params],
    ...workgroupGrid(ctx, args.tokens * args.width, 256),
  );
}

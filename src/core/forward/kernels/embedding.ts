/** Host for shaders/embedding_gather.wgsl: rows of a (row-sharded) table picked by id, written or added. */
import shader from '../../../../shaders/embedding_gather.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { computePipeline } from '../../gpu/pipelines';
import { type CommandBatch, grid } from '../command-batch';
import type { GpuMatrix } from '../gpu-matrix';

export interface GatherArgs {
  table: GpuMatrix;
  /** u32 [tokens]; every id must be below table.rows (checked by the caller, on the host). */
  ids: GPUBuffer;
  tokens: number;
  Y: GPUBuffer;
  accumulate: boolean;
}

export function encodeGather(ctx: GpuContext, batch: CommandBatch, args: GatherArgs): void {
  if (args.tokens === 0) return;
  const pipeline = computePipeline(ctx, shader);
  const groups = grid(args.tokens * args.table.cols, 256);
  for (const shard of args.table.shards) {
    const params = batch.uniform('embedding gather', [
      args.tokens,
      args.table.cols,
      shard.rowStart,
      shard.rows,
      args.accumulate ? 1 : 0,
    ]);
    batch.run(pipeline, [shard.buffer, args.ids, args.Y, params], groups);
  }
}

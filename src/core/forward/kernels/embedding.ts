/** Host for shaders/forward/embedding_gather.wgsl: rows of a (split) table picked by id, scaled, written or added. */
import shader from '../../../../shaders/forward/embedding_gather.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { workgroupGrid } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import { type CommandRecorder, f32 } from '../../gpu/recorder';
import type { SplitMatrix } from '../../gpu/split-matrix';

export interface GatherArgs {
  table: SplitMatrix;
  /** u32 [idStart + tokens]; every id must be below table.rows (checked by the caller, on the host). */
  ids: GPUBuffer;
  /** The first id used (default 0). */
  idStart?: number;
  tokens: number;
  Y: GPUBuffer;
  accumulate: boolean;
  /** Each gathered row × this (default 1; Gemma's √hidden). */
  scale?: number;
}

export function encodeGather(ctx: GpuContext, recorder: CommandRecorder, args: GatherArgs): void {
  if (args.tokens === 0) return;
  const pipeline = computePipeline(ctx, shader);
  const groups = workgroupGrid(ctx, args.tokens * args.table.cols, 256);
  for (const part of args.table.parts) {
    const params = recorder.params([
      args.tokens,
      args.table.cols,
      part.firstRow,
      part.rows,
      args.accumulate ? 1 : 0,
      f32(args.scale ?? 1),
      args.idStart ?? 0,
    ]);
    recorder.dispatch(pipeline, [part.buffer, args.ids, args.Y, params], ...groups);
  }
}

/** Host for shaders/forward/expert_scatter_add.wgsl: one expert's weighted output added to its tokens' rows. */
import shader from '../../../../shaders/forward/expert_scatter_add.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { workgroupGrid } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import type { CommandRecorder } from '../../gpu/recorder';

export interface ExpertScatterArgs {
  /** The expert's output rows [*, features]. */
  X: GPUBuffer;
  features: number;
  /** u32 triples (destination row, source row, f32 bits of the weight) from routeStart on. */
  routes: GPUBuffer;
  routeStart: number;
  count: number;
  /** Destination rows are counted from yRowStart. */
  Y: GPUBuffer;
  yRowStart?: number;
}

export function encodeExpertScatter(
  ctx: GpuContext,
  recorder: CommandRecorder,
  args: ExpertScatterArgs,
): void {
  if (args.count === 0) return;
  const params = recorder.params([args.count, args.features, args.routeStart, args.yRowStart ?? 0]);
  recorder.dispatch(
    computePipeline(ctx, shader),
    [args.X, args.routes, args.Y, params],
    ...workgroupGrid(ctx, args.count * args.features, 256),
  );
}

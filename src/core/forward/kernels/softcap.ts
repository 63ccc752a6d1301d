/** Host for shaders/forward/softcap.wgsl: cap · tanh(x / cap) in place over the first `count` floats of a buffer. */
import activations from '../../../../shaders/forward/activations.wgsl?raw';
import shader from '../../../../shaders/forward/softcap.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { workgroupGrid } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import { type CommandRecorder, f32 } from '../../gpu/recorder';

export function encodeSoftcap(
  ctx: GpuContext,
  recorder: CommandRecorder,
  args: { X: GPUBuffer; count: number; cap: number },
): void {
  if (args.count === 0) return;
  if (!(args.cap > 0)) throw new RangeError(`soft-capping needs a positive cap, got ${args.cap}`);
  const params = recorder.params([args.count, f32(args.cap)]);
  recorder.dispatch(
    computePipeline(ctx, activations + shader),
    [args.X, params],
    ...workgroupGrid(ctx, args.count, 256),
  );
}

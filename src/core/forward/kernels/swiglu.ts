/** Host for shaders/forward/swiglu.wgsl: Y = activation(gate) · up from a fused gate|up projection. */
import activations from '../../../../shaders/forward/activations.wgsl?raw';
import shader from '../../../../shaders/forward/swiglu.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { workgroupGrid } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import type { CommandRecorder } from '../../gpu/recorder';
import { ACTIVATION_CODE, type ActivationName } from './activation-codes';

export interface GatedActivationArgs {
  gateUp: GPUBuffer;
  tokens: number;
  intermediate: number;
  activation: ActivationName;
  Y: GPUBuffer;
}

export function encodeGatedActivation(
  ctx: GpuContext,
  recorder: CommandRecorder,
  args: GatedActivationArgs,
): void {
  if (args.tokens === 0) return;
  const pipeline = computePipeline(ctx, activations + shader, 'main', {
    ACTIVATION: ACTIVATION_CODE[args.activation],
  });
  const params = recorder.params([args.tokens, args.intermediate]);
  recorder.dispatch(
    pipeline,
    [args.gateUp, args.Y, params],
    ...workgroupGrid(ctx, args.tokens * args.intermediate, 256),
  );
}

/** Host for shaders/swiglu.wgsl: Y = activation(gate) · up from a fused gate|up projection. */
import activations from '../../../../shaders/activations.wgsl?raw';
import shader from '../../../../shaders/swiglu.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { computePipeline } from '../../gpu/pipelines';
import { type CommandBatch, grid } from '../command-batch';
import { ACTIVATION_CODE, type ActivationName } from './activation-codes';

export interface GatedActivationArgs {
  gateUp: GPUBuffer;
  tokens: number;
  intermediate: number;
  activation: ActivationName;
  Y: GPUBuffer;
}

export function encodeGatedActivation(ctx: GpuContext, batch: CommandBatch, args: GatedActivationArgs): void {
  if (args.tokens === 0) return;
  const pipeline = computePipeline(ctx, activations + shader, 'main', {
    ACTIVATION: ACTIVATION_CODE[args.activation],
  });
  const params = batch.uniform('swiglu', [args.tokens, args.intermediate]);
  batch.run(pipeline, [args.gateUp, args.Y, params], grid(args.tokens * args.intermediate, 256));
}

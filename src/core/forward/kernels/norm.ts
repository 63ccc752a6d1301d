/** Host for shaders/forward/rms_norm.wgsl and shaders/forward/layer_norm.wgsl: one normalised row per token. */
import layerNormShader from '../../../../shaders/forward/layer_norm.wgsl?raw';
import rmsNormShader from '../../../../shaders/forward/rms_norm.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { workgroupGrid } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import { type CommandRecorder, f32 } from '../../gpu/recorder';

export type NormKind = 'rmsnorm' | 'layernorm';

export interface NormWeights {
  weight: GPUBuffer;
  /** LayerNorm only. */
  bias?: GPUBuffer;
}

export interface NormArgs {
  kind: NormKind;
  /** Rows are read from xRowStart on. */
  X: GPUBuffer;
  xRowStart?: number;
  rows: number;
  features: number;
  eps: number;
  weights: NormWeights;
  /** Rows are written from yRowStart on. */
  Y: GPUBuffer;
  yRowStart?: number;
}

export function encodeNorm(ctx: GpuContext, recorder: CommandRecorder, args: NormArgs): void {
  if (args.rows === 0) return;
  const params = recorder.params([
    args.rows,
    args.features,
    args.xRowStart ?? 0,
    args.yRowStart ?? 0,
    f32(args.eps),
  ]);
  const groups = workgroupGrid(ctx, args.rows);
  if (args.kind === 'rmsnorm') {
    const pipeline = computePipeline(ctx, rmsNormShader);
    recorder.dispatch(pipeline, [args.X, args.weights.weight, args.Y, params], ...groups);
    return;
  }
  if (!args.weights.bias) throw new Error('layer norm needs a bias buffer');
  const pipeline = computePipeline(ctx, layerNormShader);
  recorder.dispatch(pipeline, [args.X, args.weights.weight, args.weights.bias, args.Y, params], ...groups);
}

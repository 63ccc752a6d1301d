/**
 * Host for shaders/forward/rms_norm.wgsl and shaders/forward/layer_norm.wgsl: one normalised row per token, plus a
 * residual row after an RMSNorm where one is given (Gemma's post-sublayer norms).
 */
import layerNormShader from '../../../../shaders/forward/layer_norm.wgsl?raw';
import rmsNormShader from '../../../../shaders/forward/rms_norm.wgsl?raw';
import { placeholderBuffer } from '../../gpu/buffers';
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
  /** RMSNorm only: added to each normalised row, read from residualRowStart on. Must not be Y itself. */
  residual?: GPUBuffer;
  residualRowStart?: number;
}

export function encodeNorm(ctx: GpuContext, recorder: CommandRecorder, args: NormArgs): void {
  if (args.rows === 0) return;
  const common = [args.rows, args.features, args.xRowStart ?? 0, args.yRowStart ?? 0, f32(args.eps)];
  const groups = workgroupGrid(ctx, args.rows);
  if (args.kind === 'rmsnorm') {
    if (args.residual && args.residual === args.Y) {
      throw new Error('RMSNorm: the residual input and the output must be different buffers');
    }
    const params = recorder.params([...common, args.residualRowStart ?? 0]);
    const pipeline = computePipeline(ctx, rmsNormShader, 'main', { HAS_RESIDUAL: args.residual ? 1 : 0 });
    const residual = args.residual ?? placeholderBuffer(ctx);
    recorder.dispatch(pipeline, [args.X, args.weights.weight, args.Y, params, residual], ...groups);
    return;
  }
  if (args.residual) throw new Error('a residual is added after RMSNorms only');
  const params = recorder.params(common);
  if (!args.weights.bias) throw new Error('layer norm needs a bias buffer');
  const pipeline = computePipeline(ctx, layerNormShader);
  recorder.dispatch(pipeline, [args.X, args.weights.weight, args.weights.bias, args.Y, params], ...groups);
}

/** Host for shaders/forward/head_rms_norm.wgsl: per-head RMSNorm of the query and key heads of a q|k|v buffer. */
import shader from '../../../../shaders/forward/head_rms_norm.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { workgroupGrid } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import { type CommandRecorder, f32 } from '../../gpu/recorder';

export interface HeadNormArgs {
  qkv: GPUBuffer;
  tokens: number;
  rowStride: number;
  /** Query heads from column 0, then the key heads. */
  queryHeads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
  /** [headDim] each. */
  queryWeight: GPUBuffer;
  keyWeight: GPUBuffer;
}

export function encodeHeadNorm(ctx: GpuContext, recorder: CommandRecorder, args: HeadNormArgs): void {
  if (args.tokens === 0) return;
  const params = recorder.params([
    args.tokens,
    args.rowStride,
    args.queryHeads,
    args.kvHeads,
    args.headDim,
    f32(args.eps),
  ]);
  recorder.dispatch(
    computePipeline(ctx, shader),
    [args.qkv, args.queryWeight, args.keyWeight, params],
    ...workgroupGrid(ctx, args.tokens * (args.queryHeads + args.kvHeads), 64),
  );
}

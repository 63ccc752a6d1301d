/** Host for shaders/forward/rotary_embedding.wgsl: rotates the query and key heads of a fused q|k|v buffer in place. */
import shader from '../../../../shaders/forward/rotary_embedding.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { workgroupGrid } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import type { CommandRecorder } from '../../gpu/recorder';

export interface RotaryArgs {
  qkv: GPUBuffer;
  tokens: number;
  /** Token t uses table row t mod seqLen. */
  seqLen: number;
  rowStride: number;
  /** Query heads plus key heads, stored contiguously from column 0. */
  rotatedHeads: number;
  headDim: number;
  rotaryDim: number;
  /** [seqLen, rotaryDim / 2] pairs (cos, sin), from ropeTable. */
  table: GPUBuffer;
}

export function encodeRotary(ctx: GpuContext, recorder: CommandRecorder, args: RotaryArgs): void {
  const half = args.rotaryDim / 2;
  if (args.tokens === 0 || half === 0) return;
  const params = recorder.params([
    args.tokens,
    args.seqLen,
    args.rowStride,
    args.rotatedHeads,
    args.headDim,
    half,
  ]);
  recorder.dispatch(
    computePipeline(ctx, shader),
    [args.qkv, args.table, params],
    ...workgroupGrid(ctx, args.tokens * args.rotatedHeads * half, 256),
  );
}

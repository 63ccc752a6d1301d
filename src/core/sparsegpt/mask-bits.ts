/** Host for shaders/solver/zero_mask_bits.wgsl: a baseline's zeros in W as bits, for the quantizing walk. */
import shader from '../../../shaders/solver/zero_mask_bits.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { workgroupGrid } from '../gpu/limits';
import { computePipeline } from '../gpu/pipelines';
import type { CommandRecorder } from '../gpu/recorder';
import type { MatrixPart } from '../gpu/split-matrix';

/** u32 words of mask bits per row of a layer `columns` wide. */
export const maskStride = (columns: number) => Math.ceil(columns / 32);

export function encodeZeroMaskBits(
  ctx: GpuContext,
  recorder: CommandRecorder,
  part: MatrixPart,
  columns: number,
  bits: GPUBuffer,
): void {
  const stride = maskStride(columns);
  if (part.rows === 0) return;
  const pipeline = computePipeline(ctx, shader);
  const params = recorder.params([columns, part.rows, stride]);
  recorder.dispatch(pipeline, [part.buffer, bits, params], ...workgroupGrid(ctx, part.rows * stride, 64));
}

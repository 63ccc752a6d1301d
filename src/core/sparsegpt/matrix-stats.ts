/** Host for shaders/solver/matrix_stats.wgsl: zeros (achieved sparsity) and non-finite values of a split matrix. */
import shader from '../../../shaders/solver/matrix_stats.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { workgroupGrid } from '../gpu/limits';
import { computePipeline } from '../gpu/pipelines';
import type { CommandRecorder } from '../gpu/recorder';
import type { SplitMatrix } from '../gpu/split-matrix';

/** Adds the matrix's zero count to counters[0] and its NaN/±Inf count to counters[1] (u32 words). */
export function encodeMatrixStats(
  ctx: GpuContext,
  recorder: CommandRecorder,
  matrix: SplitMatrix,
  counters: GPUBuffer | GPUBufferBinding,
): void {
  const pipeline = computePipeline(ctx, shader);
  for (const part of matrix.parts) {
    const count = part.rows * matrix.cols;
    if (count === 0) continue;
    const params = recorder.params([count]);
    recorder.dispatch(pipeline, [part.buffer, counters, params], ...workgroupGrid(ctx, count, 4096));
  }
}

/** Host for shaders/matrix_stats.wgsl: zeros (achieved sparsity) and non-finite values of a chunked matrix. */
import shader from '../../../shaders/matrix_stats.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { computePipeline } from '../gpu/pipelines';
import type { ChunkedMatrix } from './chunked-matrix';
import { bindResources, dispatchIn, type GpuRun, workgroupGrid } from './gpu-run';

/** Adds the matrix's zero count to counters[0] and its NaN/±Inf count to counters[1] (u32 words). */
export function encodeMatrixStats(
  ctx: GpuContext,
  run: GpuRun,
  pass: GPUComputePassEncoder,
  matrix: ChunkedMatrix,
  counters: GPUBuffer,
): void {
  const pipeline = computePipeline(ctx, shader);
  for (const chunk of matrix.chunks) {
    const count = chunk.rows * matrix.cols;
    if (count === 0) continue;
    const slot = run.params.slot([count]);
    const [x, y] = workgroupGrid(ctx, Math.ceil(count / 4096));
    dispatchIn(pass, pipeline, bindResources(ctx, pipeline, [chunk.buffer, counters, slot]), x, y);
  }
}

/**
 * Host for shaders/radix_select_histogram.wgsl + radix_select_scan.wgsl: the exact k-th smallest pruning metric
 * over a column range of a chunked W, found on the GPU in four byte-wise passes; the result stays in `state` for
 * the kernels that apply the mask, so no CPU round trip is needed per block.
 */
import histogramShader from '../../../shaders/radix_select_histogram.wgsl?raw';
import scanShader from '../../../shaders/radix_select_scan.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { computePipeline } from '../gpu/pipelines';
import type { ChunkedMatrix } from './chunked-matrix';
import { bindResources, dispatchIn, type GpuRun, workgroupGrid } from './gpu-run';

/** As in radix_select_histogram.wgsl. */
const VALUES_PER_WORKGROUP = 16384;

export const SelectMetric = { weightOverDiagonalSquared: 0, magnitude: 1 } as const;

export interface SelectScratch {
  /** [0] bit pattern of the value found, [1] how many values equal to it rank below k. */
  state: GPUBuffer;
  histogram: GPUBuffer;
}

export function createSelectScratch(run: GpuRun): SelectScratch {
  return { state: run.buffer(8, 'select.state'), histogram: run.buffer(256 * 4, 'select.histogram') };
}

export interface SelectRegion {
  metric: (typeof SelectMetric)[keyof typeof SelectMetric];
  colStart: number;
  colCount: number;
  /** 0-based rank of the value sought among all rows × colCount values. */
  rank: number;
  /** Rows [blockStart, blockStart + colCount) of U, for metric 0; any buffer otherwise. */
  uPanel: GPUBuffer;
  /** Row stride of uPanel in floats (metric 0). */
  panelStride?: number;
}

export function encodeRadixSelect(
  ctx: GpuContext,
  run: GpuRun,
  pass: GPUComputePassEncoder,
  W: ChunkedMatrix,
  scratch: SelectScratch,
  region: SelectRegion,
): void {
  const histogram = computePipeline(ctx, histogramShader);
  const scan = computePipeline(ctx, scanShader);
  const scanWith = (shift: number, init: number) => {
    const slot = run.params.slot([shift, init, region.rank]);
    dispatchIn(pass, scan, bindResources(ctx, scan, [scratch.histogram, scratch.state, slot]), 1);
  };
  scanWith(0, 1);
  for (let shift = 24; shift >= 0; shift -= 8) {
    for (const chunk of W.chunks) {
      const values = chunk.rows * region.colCount;
      if (values === 0) continue;
      const slot = run.params.slot([
        W.cols,
        chunk.rows,
        region.colStart,
        region.colCount,
        shift,
        region.metric,
        region.panelStride ?? W.cols,
      ]);
      const group = bindResources(ctx, histogram, [
        chunk.buffer,
        region.uPanel,
        scratch.state,
        scratch.histogram,
        slot,
      ]);
      const [x, y] = workgroupGrid(ctx, Math.ceil(values / VALUES_PER_WORKGROUP));
      dispatchIn(pass, histogram, group, x, y);
    }
    scanWith(shift, 0);
  }
}

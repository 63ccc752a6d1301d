/**
 * Host for shaders/solver/radix_select_histogram.wgsl + radix_select_scan.wgsl: the exact k-th smallest pruning metric
 * over a column range of a split W, found on the GPU in four byte-wise passes; the result stays in `state` for
 * the kernels that apply the mask, so no CPU round trip is needed per block.
 */
import histogramShader from '../../../shaders/solver/radix_select_histogram.wgsl?raw';
import scanShader from '../../../shaders/solver/radix_select_scan.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { workgroupGrid } from '../gpu/limits';
import { computePipeline } from '../gpu/pipelines';
import type { CommandRecorder } from '../gpu/recorder';
import type { SplitMatrix } from '../gpu/split-matrix';

/** As in radix_select_histogram.wgsl. */
const VALUES_PER_WORKGROUP = 16384;

export const SelectMetric = { weightOverDiagonalSquared: 0, magnitude: 1 } as const;

export interface SelectScratch {
  /** [0] bit pattern of the value found, [1] how many values equal to it rank below k. */
  state: GPUBuffer;
  histogram: GPUBuffer;
}

export function createSelectScratch(recorder: CommandRecorder): SelectScratch {
  return {
    state: recorder.buffer(8, 'select.state'),
    histogram: recorder.buffer(256 * 4, 'select.histogram'),
  };
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
  recorder: CommandRecorder,
  W: SplitMatrix,
  scratch: SelectScratch,
  region: SelectRegion,
): void {
  const histogram = computePipeline(ctx, histogramShader);
  const scan = computePipeline(ctx, scanShader);
  const scanWith = (shift: number, init: number) => {
    const params = recorder.params([shift, init, region.rank]);
    recorder.dispatch(scan, [scratch.histogram, scratch.state, params], 1);
  };
  scanWith(0, 1);
  for (let shift = 24; shift >= 0; shift -= 8) {
    for (const part of W.parts) {
      const values = part.rows * region.colCount;
      if (values === 0) continue;
      const params = recorder.params([
        W.cols,
        part.rows,
        region.colStart,
        region.colCount,
        shift,
        region.metric,
        region.panelStride ?? W.cols,
      ]);
      recorder.dispatch(
        histogram,
        [part.buffer, region.uPanel, scratch.state, scratch.histogram, params],
        ...workgroupGrid(ctx, values, VALUES_PER_WORKGROUP),
      );
    }
    scanWith(shift, 0);
  }
}

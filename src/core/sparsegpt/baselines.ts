/**
 * The baselines on the same kernels and infrastructure as SparseGPT, without weight updates:
 * magnitude — |w| against one layer-wide threshold (radix select), or the N smallest |w| of each group of M;
 * Wanda — |w|·‖X_j‖₂, the k smallest of each output row, or the N smallest of each group of M.
 * Hosts for shaders/solver/baseline_mask_n_m.wgsl, baseline_mask_row_select.wgsl and baseline_mask_threshold.wgsl.
 */
import nmShader from '../../../shaders/solver/baseline_mask_n_m.wgsl?raw';
import rowSelectShader from '../../../shaders/solver/baseline_mask_row_select.wgsl?raw';
import thresholdShader from '../../../shaders/solver/baseline_mask_threshold.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { workgroupGrid } from '../gpu/limits';
import { computePipeline } from '../gpu/pipelines';
import type { CommandRecorder } from '../gpu/recorder';
import type { MatrixPart } from '../gpu/split-matrix';
import type { LayerSolve } from './prune';
import { createSelectScratch, encodeRadixSelect, SelectMetric } from './select';

export async function encodeBaseline(
  ctx: GpuContext,
  recorder: CommandRecorder,
  { W, prepared, settings }: LayerSolve,
): Promise<void> {
  const wanda = settings.method === 'wanda';
  /** One dispatch per part of W, covering `items(part)` work items of `perGroup` each. */
  const maskParts = (
    shader: string,
    items: (part: MatrixPart) => number,
    perGroup: number,
    resources: (part: MatrixPart) => Array<GPUBuffer | GPUBufferBinding>,
  ) => {
    const pipeline = computePipeline(ctx, shader);
    for (const part of W.parts) {
      const count = items(part);
      if (count === 0) continue;
      recorder.dispatch(pipeline, resources(part), ...workgroupGrid(ctx, count, perGroup));
    }
  };
  if (settings.pattern !== 'unstructured') {
    const { n, m } = settings.pattern;
    await recorder.step('mask', () =>
      maskParts(
        nmShader,
        (part) => (part.rows * W.cols) / m,
        256,
        (part) => [
          part.buffer,
          prepared.columnNorms,
          recorder.params([W.cols, part.rows, n, m, wanda ? 1 : 0]),
        ],
      ),
    );
    return;
  }
  if (settings.sparsity === 0) return;
  if (wanda) {
    const k = Math.floor(W.cols * settings.sparsity);
    if (k === 0) return;
    await recorder.step('mask', () =>
      maskParts(
        rowSelectShader,
        (part) => part.rows,
        1,
        (part) => [part.buffer, prepared.columnNorms, recorder.params([W.cols, part.rows, k])],
      ),
    );
    return;
  }
  const scratch = createSelectScratch(recorder);
  const rank = Math.floor(W.rows * W.cols * settings.sparsity);
  await recorder.step('select', () =>
    encodeRadixSelect(ctx, recorder, W, scratch, {
      metric: SelectMetric.magnitude,
      colStart: 0,
      colCount: W.cols,
      rank,
      uPanel: prepared.columnNorms,
    }),
  );
  await recorder.step('mask', () =>
    maskParts(
      thresholdShader,
      (part) => part.rows * W.cols,
      256,
      (part) => [part.buffer, scratch.state, recorder.params([part.rows * W.cols])],
    ),
  );
}

/**
 * The baselines on the same kernels and infrastructure as SparseGPT, without weight updates:
 * magnitude — |w| against one layer-wide threshold (radix select), or the N smallest |w| of each group of M;
 * Wanda — |w|·‖X_j‖₂, the k smallest of each output row, or the N smallest of each group of M.
 */
import nmShader from '../../../shaders/baseline_mask_n_m.wgsl?raw';
import rowSelectShader from '../../../shaders/baseline_mask_row_select.wgsl?raw';
import thresholdShader from '../../../shaders/baseline_mask_threshold.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { computePipeline } from '../gpu/pipelines';
import type { ChunkedMatrix } from './chunked-matrix';
import { bindResources, dispatchIn, type GpuRun, workgroupGrid } from './gpu-run';
import type { PreparedLayer } from './prepare';
import { createSelectScratch, encodeRadixSelect, SelectMetric } from './select';
import type { ResolvedLayerPrune } from './settings';

export async function encodeBaseline(
  ctx: GpuContext,
  run: GpuRun,
  W: ChunkedMatrix,
  prepared: PreparedLayer,
  settings: ResolvedLayerPrune,
): Promise<void> {
  const wanda = settings.method === 'wanda';
  if (settings.pattern !== 'unstructured') {
    const { n, m } = settings.pattern;
    await run.pass('mask', (pass) => {
      const pipeline = computePipeline(ctx, nmShader);
      for (const chunk of W.chunks) {
        const groups = (chunk.rows * W.cols) / m;
        if (groups === 0) continue;
        const slot = run.params.slot([W.cols, chunk.rows, n, m, wanda ? 1 : 0]);
        const [x, y] = workgroupGrid(ctx, Math.ceil(groups / 256));
        dispatchIn(
          pass,
          pipeline,
          bindResources(ctx, pipeline, [chunk.buffer, prepared.columnNorms, slot]),
          x,
          y,
        );
      }
    });
    return;
  }
  if (settings.sparsity === 0) return;
  if (wanda) {
    const k = Math.floor(W.cols * settings.sparsity);
    if (k === 0) return;
    await run.pass('mask', (pass) => {
      const pipeline = computePipeline(ctx, rowSelectShader);
      for (const chunk of W.chunks) {
        if (chunk.rows === 0) continue;
        const slot = run.params.slot([W.cols, chunk.rows, k]);
        const [x, y] = workgroupGrid(ctx, chunk.rows);
        dispatchIn(
          pass,
          pipeline,
          bindResources(ctx, pipeline, [chunk.buffer, prepared.columnNorms, slot]),
          x,
          y,
        );
      }
    });
    return;
  }
  const scratch = createSelectScratch(run);
  const rank = Math.floor(W.rows * W.cols * settings.sparsity);
  await run.pass('select', (pass) =>
    encodeRadixSelect(ctx, run, pass, W, scratch, {
      metric: SelectMetric.magnitude,
      colStart: 0,
      colCount: W.cols,
      rank,
      uPanel: prepared.columnNorms,
    }),
  );
  await run.pass('mask', (pass) => {
    const pipeline = computePipeline(ctx, thresholdShader);
    for (const chunk of W.chunks) {
      const count = chunk.rows * W.cols;
      if (count === 0) continue;
      const slot = run.params.slot([count]);
      const [x, y] = workgroupGrid(ctx, Math.ceil(count / 256));
      dispatchIn(pass, pipeline, bindResources(ctx, pipeline, [chunk.buffer, scratch.state, slot]), x, y);
    }
  });
}

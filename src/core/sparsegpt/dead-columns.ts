/**
 * Host for shaders/solver/zero_dead_columns.wgsl: W[:, j] = 0 for every dead input j (H_jj = 0), as SparseGPT does
 * before pruning: those weights never met a nonzero input, so they carry nothing the solver could preserve.
 */
import shader from '../../../shaders/solver/zero_dead_columns.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { workgroupGrid } from '../gpu/limits';
import { computePipeline } from '../gpu/pipelines';
import type { CommandRecorder } from '../gpu/recorder';
import type { SplitMatrix } from '../gpu/split-matrix';
import type { PreparedLayer } from './prepare';

export async function zeroDeadColumns(
  ctx: GpuContext,
  recorder: CommandRecorder,
  W: SplitMatrix,
  prepared: PreparedLayer,
): Promise<void> {
  if (prepared.deadCount === 0) return;
  await recorder.step('deadColumns', () => {
    const pipeline = computePipeline(ctx, shader);
    for (const part of W.parts) {
      const count = part.rows * W.cols;
      const params = recorder.params([W.cols, count]);
      recorder.dispatch(
        pipeline,
        [part.buffer, prepared.deadColumns, params],
        ...workgroupGrid(ctx, count, 256),
      );
    }
  });
}

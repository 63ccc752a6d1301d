/**
 * SparseGPT (Frantar & Alistarh 2023, Algorithm 1) on the GPU, shaped like IST-DASLab/sparsegpt's fasterprune so
 * that the two read side by side. W [rows = out, cols = in] is pruned in place; U = prepared.U, the upper Cholesky
 * factor of the damped H⁻¹, is the paper's Hinv. The float64 CPU version of the same loop is sparsegptReference in
 * layer-solver.reference.ts. Splitting W across bindings, timing, submit batching, the N:M kernel variants and the
 * uniform slots are the hosts' and the recorder's (block-walk.ts, gpu/recorder.ts); what is left is the algorithm.
 */
import type { GpuContext } from '../gpu/context';
import type { CommandRecorder } from '../gpu/recorder';
import { BlockWalk } from './block-walk';
import { zeroDeadColumns } from './dead-columns';
import type { LayerSolve } from './prune';

export async function encodeSparseGpt(
  ctx: GpuContext,
  recorder: CommandRecorder,
  { W, prepared, settings }: LayerSolve,
): Promise<void> {
  // W[:, dead] = 0 (prepared found the dead inputs, H_jj = 0, and set their diagonal to 1 in H).
  await zeroDeadColumns(ctx, recorder, W, prepared);
  if (settings.pattern === 'unstructured' && settings.sparsity === 0) return;
  const walk = new BlockWalk(ctx, recorder, W, prepared.U, settings);
  for (let i1 = 0; i1 < W.cols; i1 += settings.blockSize) {
    const i2 = Math.min(i1 + settings.blockSize, W.cols);
    const block = { start: i1, count: i2 - i1 };
    // Hinv1 = Hinv[i1:i2, :]: the block's rows of U, which the mask, the walk and the lazy update read.
    walk.copyPanel(block);
    // mask1 = W1² / diag(Hinv1)² ≤ its k-th smallest, k = sparsity · W1.numel() (unstructured). An N:M mask is
    // chosen inside the walk instead, at each group of M columns (fasterprune's i % prunem == 0), from the
    // weights as the walk has updated them.
    if (settings.pattern === 'unstructured') await walk.selectMask(block, settings.sparsity);
    // For each column i of the block: q = w with mask1[:, i] zeroed, err1 = (w − q) / Hinv1[i, i],
    // W1[:, i:] −= err1 · Hinv1[i, i:], Err1[:, i] = err1; W[:, i1:i2] = Q1.
    await walk.walkColumns(block);
    // W[:, i2:] −= Err1 · Hinv[i1:i2, i2:], the lazy batch update of every later column.
    if (i2 < W.cols) await walk.lazyUpdate(block);
  }
}

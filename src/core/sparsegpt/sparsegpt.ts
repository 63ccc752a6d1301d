/**
 * SparseGPT (Frantar & Alistarh 2023, Algorithm 1) on the GPU, shaped like IST-DASLab/sparsegpt's fasterprune so
 * that the two read side by side; with a quantization, the same walk rounds each kept weight to its ggml block's
 * grid and spreads that error too (joint sparsification and quantization; with no mask it is exactly GPTQ).
 * W [rows = out, cols = in] is pruned in place; U = prepared.U, the upper Cholesky factor of the damped H⁻¹, is the
 * paper's Hinv. The float64 CPU version of the same loop is sparsegptReference in layer-solver.reference.ts.
 * Splitting W across bindings, timing, submit batching, the N:M kernel variants and the uniform slots are the
 * hosts' and the recorder's (block-walk.ts, gpu/recorder.ts); what is left is the algorithm.
 */
import type { GpuContext } from '../gpu/context';
import type { CommandRecorder } from '../gpu/recorder';
import { BlockWalk } from './block-walk';
import { zeroDeadColumns } from './dead-columns';
import { encodeZeroMaskBits, maskStride } from './mask-bits';
import type { LayerSolve } from './prune';
import { encodeRoundToNearest } from './round-to-nearest';
import type { WalkMask } from './walk';

export async function encodeSparseGpt(
  ctx: GpuContext,
  recorder: CommandRecorder,
  solve: LayerSolve,
): Promise<void> {
  const { W, prepared, settings } = solve;
  // W[:, dead] = 0 (prepared found the dead inputs, H_jj = 0, and set their diagonal to 1 in H).
  await zeroDeadColumns(ctx, recorder, W, prepared);
  const prunes = settings.pattern !== 'unstructured' || settings.sparsity > 0;
  await encodeColumnWalk(
    ctx,
    recorder,
    solve,
    settings.pattern !== 'unstructured' ? 'n:m' : prunes ? 'unstructured' : 'none',
  );
  // Round-to-nearest rounds what the pruning left, with no error spread (prune, then round).
  if (settings.quantization?.method === 'rtn') await encodeRoundToNearest(ctx, recorder, solve);
}

/**
 * After a baseline's mask (Wanda, magnitude): GPTQ quantizes what it kept in the same walk, its zeros staying zero
 * while the rounding errors pass over them; round-to-nearest just rounds.
 */
export async function encodeQuantizeAfterMask(
  ctx: GpuContext,
  recorder: CommandRecorder,
  solve: LayerSolve,
): Promise<void> {
  const { W, settings } = solve;
  if (settings.quantization?.method === 'rtn') {
    await encodeRoundToNearest(ctx, recorder, solve);
    return;
  }
  const maskBits = W.parts.map((part) =>
    recorder.buffer(Math.max(16, part.rows * maskStride(W.cols) * 4), 'maskBits'),
  );
  await recorder.step('mask', () => {
    W.parts.forEach((part, i) => {
      encodeZeroMaskBits(ctx, recorder, part, W.cols, maskBits[i]);
    });
  });
  await encodeColumnWalk(ctx, recorder, solve, 'fixed', maskBits);
}

/** The walk, block by block: what fasterprune's loop does, with GPTQ's rounding when the layer is quantized. */
async function encodeColumnWalk(
  ctx: GpuContext,
  recorder: CommandRecorder,
  { W, prepared, settings, scales }: LayerSolve,
  mask: WalkMask,
  maskBits?: GPUBuffer[],
): Promise<void> {
  const quantization = settings.quantization?.method === 'gptq' ? settings.quantization : undefined;
  if (mask === 'none' && !quantization) return;
  const walk = new BlockWalk(ctx, recorder, W, prepared.U, settings, {
    mask,
    quantization,
    scales,
    maskBits,
  });
  for (let i1 = 0; i1 < W.cols; i1 += settings.blockSize) {
    const i2 = Math.min(i1 + settings.blockSize, W.cols);
    const block = { start: i1, count: i2 - i1 };
    // Hinv1 = Hinv[i1:i2, :]: the block's rows of U, which the mask, the walk and the lazy update read.
    walk.copyPanel(block);
    // mask1 = W1² / diag(Hinv1)² ≤ its k-th smallest, k = sparsity · W1.numel() (unstructured). An N:M mask is
    // chosen inside the walk instead, at each group of M columns (fasterprune's i % prunem == 0), from the
    // weights as the walk has updated them.
    if (mask === 'unstructured') await walk.selectMask(block, settings.sparsity);
    // For each column i of the block: q = w with mask1[:, i] zeroed (and, quantizing, the kept w rounded to its
    // block's grid, whose scales come from the weights when the walk reaches the block's first column),
    // err1 = (w − q) / Hinv1[i, i], W1[:, i:] −= err1 · Hinv1[i, i:], Err1[:, i] = err1; W[:, i1:i2] = Q1.
    await walk.walkColumns(block);
    // W[:, i2:] −= Err1 · Hinv[i1:i2, i2:], the lazy batch update of every later column.
    if (i2 < W.cols) await walk.lazyUpdate(block);
  }
}

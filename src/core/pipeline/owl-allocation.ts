/**
 * OWL's allocation of a sparsity over a model's blocks (Yin et al., "Outlier Weighed Layerwise Sparsity", ICML
 * 2024), the pure arithmetic: each block's outlier ratio D_l (the share of its scores |W_ij|·‖X_j‖, over all of
 * its linears together, above M × their mean), then per-block sparsities that fall as D_l rises, stay within ±λ
 * of the target S and average to S. The dense pass that measures ‖X_j‖ is owl.ts.
 */

/**
 * The share of a block's scores |W_ij|·‖X_j‖ above `threshold` × their mean, over all the block's linears at once.
 * Each linear is W [rows = outputs, cols = inputs] row-major with the norms of its inputs.
 */
export function outlierRatio(
  linears: ReadonlyArray<{ W: ArrayLike<number>; rows: number; cols: number; norms: ArrayLike<number> }>,
  threshold: number,
): number {
  let sum = 0;
  let count = 0;
  for (const { W, rows, cols, norms } of linears) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) sum += Math.abs(W[r * cols + c]) * norms[c];
    }
    count += rows * cols;
  }
  if (count === 0) return 0;
  const bar = (threshold * sum) / count;
  let outliers = 0;
  for (const { W, rows, cols, norms } of linears) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) if (Math.abs(W[r * cols + c]) * norms[c] > bar) outliers++;
    }
  }
  return outliers / count;
}

/**
 * Per-block sparsities from the blocks' outlier ratios. As in the paper's code, the ratios are mapped linearly
 * onto keep-ratio offsets spanning [0, 2λ] (fewest outliers 0, most 2λ) and centred, so the sparsities average to
 * `target`. The paper states the bound S_l ∈ [S − λ, S + λ]; the linear map keeps it only when the ratios' mean is
 * mid-range, so where a block would leave it, all offsets are scaled down together (the mean stays, the order
 * stays). The bound is also kept within [0, 1): at most `target`, and at most half of what is left to 100%.
 * Equal ratios (nothing to tell the blocks apart) give the target everywhere.
 */
export function owlBlockSparsity(ratios: readonly number[], target: number, lambda: number): number[] {
  const low = Math.min(...ratios);
  const high = Math.max(...ratios);
  if (!(high > low)) return ratios.map(() => target);
  const spread = ratios.map((d) => ((d - low) / (high - low)) * 2 * lambda);
  const mean = spread.reduce((a, b) => a + b, 0) / spread.length;
  const offsets = spread.map((r) => mean - r);
  const bound = Math.min(lambda, target, (1 - target) / 2);
  const widest = Math.max(...offsets.map(Math.abs));
  const scale = widest > bound ? bound / widest : 1;
  // Rounding must not take a block a hair below 0, which the solver would refuse.
  return offsets.map((offset) => Math.max(0, target + offset * scale));
}

/**
 * The float64 CPU reference of the layer solver (H, the factor U of H⁻¹, SparseGPT, Wanda, magnitude): the
 * independent check that every solver test and the benchmark compare the GPU route against. Written from the
 * paper's algorithm and its reference implementation (IST-DASLab/sparsegpt, SparseGPT.fasterprune; locuslab/wanda
 * for the baselines), independent of the GPU route: it forms H⁻¹ explicitly (Cholesky, inverse from the factor,
 * then the upper Cholesky factor of H⁻¹) where the GPU factors H once and inverts the factor. Float64 by default;
 * `precision: 'f32'` stores every matrix in Float32Array (the float32 CPU baseline of the benchmark).
 * Sparsity 0 prunes nothing (the reference code would still take the one smallest weight per block).
 */

export type Precision = 'f64' | 'f32';
export type FloatArray = Float64Array | Float32Array;
export type Pattern = 'unstructured' | { n: number; m: number };

function allocate(length: number, precision: Precision): FloatArray {
  return precision === 'f32' ? new Float32Array(length) : new Float64Array(length);
}

/** H = 2/N · XᵀX for X row-major [tokens, columns] (full symmetric matrix). */
export function hessianReference(X: ArrayLike<number>, tokens: number, columns: number): Float64Array {
  const H = new Float64Array(columns * columns);
  for (let t = 0; t < tokens; t++) {
    const row = t * columns;
    for (let i = 0; i < columns; i++) {
      const xi = X[row + i];
      if (xi === 0) continue;
      for (let j = i; j < columns; j++) H[i * columns + j] += xi * X[row + j];
    }
  }
  const scale = 2 / tokens;
  for (let i = 0; i < columns; i++) {
    for (let j = i; j < columns; j++) {
      H[i * columns + j] *= scale;
      H[j * columns + i] = H[i * columns + j];
    }
  }
  return H;
}

/** Lower Cholesky factor of a symmetric positive definite A (row-major n×n): A = L·Lᵀ. */
export function choleskyLowerReference(
  A: ArrayLike<number>,
  n: number,
  precision: Precision = 'f64',
): FloatArray {
  const L = allocate(n * n, precision);
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let diagonal = A[rowJ + j];
    for (let k = 0; k < j; k++) diagonal -= L[rowJ + k] * L[rowJ + k];
    if (!(diagonal > 0)) throw new Error(`reference Cholesky: pivot ${j} is ${diagonal}`);
    const d = Math.sqrt(diagonal);
    L[rowJ + j] = d;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let s = A[rowI + j];
      for (let k = 0; k < j; k++) s -= L[rowI + k] * L[rowJ + k];
      L[rowI + j] = s / d;
    }
  }
  return L;
}

/** (L·Lᵀ)⁻¹ from the lower factor L, as torch.cholesky_inverse. */
export function choleskyInverseReference(L: FloatArray, n: number, precision: Precision = 'f64'): FloatArray {
  const X = allocate(n * n, precision); // L⁻¹, lower
  for (let j = 0; j < n; j++) {
    X[j * n + j] = 1 / L[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s += L[i * n + k] * X[k * n + j];
      X[i * n + j] = -s / L[i * n + i];
    }
  }
  const inverse = allocate(n * n, precision); // L⁻ᵀ·L⁻¹
  const accumulator = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const rowK = k * n;
    for (let i = 0; i <= k; i++) {
      const xi = X[rowK + i];
      if (xi === 0) continue;
      const rowI = i * n;
      for (let j = 0; j <= k; j++) accumulator[rowI + j] += xi * X[rowK + j];
    }
  }
  inverse.set(accumulator);
  return inverse;
}

export interface PreparedReference {
  /** Upper Cholesky factor of the damped H⁻¹ (H⁻¹ = Uᵀ·U). */
  U: FloatArray;
  dead: boolean[];
  /** Absolute dampening λ added to the diagonal. */
  damping: number;
}

/** Dead inputs, dampening and U exactly as fasterprune computes them. */
export function prepareReference(
  H: ArrayLike<number>,
  n: number,
  percdamp = 0.01,
  precision: Precision = 'f64',
): PreparedReference {
  const damped = allocate(n * n, precision);
  for (let i = 0; i < n * n; i++) damped[i] = H[i];
  const dead: boolean[] = [];
  let sum = 0;
  for (let j = 0; j < n; j++) {
    dead.push(damped[j * n + j] === 0);
    if (dead[j]) damped[j * n + j] = 1;
    sum += damped[j * n + j];
  }
  const damping = (percdamp * sum) / n;
  for (let j = 0; j < n; j++) damped[j * n + j] += damping;
  const inverse = choleskyInverseReference(choleskyLowerReference(damped, n, precision), n, precision);
  const lower = choleskyLowerReference(inverse, n, precision);
  const U = allocate(n * n, precision);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) U[i * n + j] = lower[j * n + i];
  return { U, dead, damping };
}

export interface SolveReferenceOptions {
  sparsity: number;
  pattern?: Pattern;
  blockSize?: number;
  percdamp?: number;
  precision?: Precision;
}

export interface SolveReference {
  W: FloatArray;
  U: FloatArray;
}

/** SparseGPT.fasterprune on a row-major W [rows, cols] with the full symmetric H [cols, cols]. */
export function sparsegptReference(
  W: ArrayLike<number>,
  rows: number,
  cols: number,
  H: ArrayLike<number>,
  options: SolveReferenceOptions,
): SolveReference {
  const precision = options.precision ?? 'f64';
  const pattern = options.pattern ?? 'unstructured';
  const blockSize = options.blockSize ?? 128;
  const { U, dead } = prepareReference(H, cols, options.percdamp ?? 0.01, precision);
  const out = allocate(rows * cols, precision);
  for (let i = 0; i < rows * cols; i++) out[i] = dead[i % cols] ? 0 : W[i];
  if (pattern === 'unstructured' && options.sparsity === 0) return { W: out, U };
  for (let i1 = 0; i1 < cols; i1 += blockSize) {
    const i2 = Math.min(i1 + blockSize, cols);
    const count = i2 - i1;
    const W1 = allocate(rows * count, precision);
    for (let r = 0; r < rows; r++) for (let c = 0; c < count; c++) W1[r * count + c] = out[r * cols + i1 + c];
    const diagonal = (c: number) => U[(i1 + c) * cols + i1 + c];
    const mask = new Uint8Array(rows * count);
    if (pattern === 'unstructured') markUnstructured(mask, W1, count, diagonal, options.sparsity);
    const Err1 = allocate(rows * count, precision);
    for (let i = 0; i < count; i++) {
      const d = diagonal(i);
      if (pattern !== 'unstructured' && i % pattern.m === 0) {
        markGroup(mask, W1, rows, count, i, diagonal, pattern);
      }
      for (let r = 0; r < rows; r++) {
        const w = W1[r * count + i];
        const q = mask[r * count + i] ? 0 : w;
        const err = (w - q) / d;
        out[r * cols + i1 + i] = q;
        for (let j = i; j < count; j++) W1[r * count + j] -= err * U[(i1 + i) * cols + i1 + j];
        Err1[r * count + i] = err;
      }
    }
    lazyUpdateInPlace(out, rows, cols, Err1, U, i1, count, (p) => (i1 + p) * cols);
  }
  return { W: out, U };
}

/**
 * The unstructured mask of one block of `count` columns: every weight whose w²/U_cc² is at or below the block's
 * `sparsity` quantile (fasterprune's torch.sort threshold).
 */
export function markUnstructured(
  mask: Uint8Array,
  W1: ArrayLike<number>,
  count: number,
  diagonal: (c: number) => number,
  sparsity: number,
): void {
  const tmp = new Float64Array(mask.length);
  for (let e = 0; e < tmp.length; e++) tmp[e] = W1[e] ** 2 / diagonal(e % count) ** 2;
  const thresh = Float64Array.from(tmp).sort()[Math.floor(tmp.length * sparsity)];
  for (let e = 0; e < tmp.length; e++) mask[e] = tmp[e] <= thresh ? 1 : 0;
}

/** N:M at column i of the block (the first of a group of m): each row's n smallest w²/U_cc² in columns i … i + m − 1. */
export function markGroup(
  mask: Uint8Array,
  W1: ArrayLike<number>,
  rows: number,
  count: number,
  i: number,
  diagonal: (c: number) => number,
  pattern: { n: number; m: number },
): void {
  for (let r = 0; r < rows; r++) {
    const metric = (g: number) => W1[r * count + i + g] ** 2 / diagonal(i + g) ** 2;
    for (const g of smallestInGroup(metric, Math.min(pattern.m, count - i), pattern.n)) {
      mask[r * count + i + g] = 1;
    }
  }
}

/** The n indices of the smallest metric among 0 … size − 1, ties to the lower index (a stable sort). */
export function smallestInGroup(metric: (g: number) => number, size: number, n: number): number[] {
  const order = Array.from({ length: size }, (_, g) => g);
  const values = order.map(metric);
  order.sort((a, b) => values[a] - values[b] || a - b);
  return order.slice(0, n);
}

export function lazyUpdateInPlace(
  W: FloatArray,
  rows: number,
  cols: number,
  err: ArrayLike<number>,
  U: ArrayLike<number>,
  blockStart: number,
  blockCount: number,
  uRowOffset: (p: number) => number,
): void {
  const blockEnd = blockStart + blockCount;
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < blockCount; p++) {
      const e = err[r * blockCount + p];
      if (e === 0) continue;
      const uRow = uRowOffset(p);
      for (let j = blockEnd; j < cols; j++) W[r * cols + j] -= e * U[uRow + j];
    }
  }
}

/** W[:, blockEnd:] −= Err · uRows[:, blockEnd:] with uRows = U[blockStart:blockEnd, :] ([blockCount, cols]). */
export function lazyUpdateReference(
  W: ArrayLike<number>,
  rows: number,
  cols: number,
  err: ArrayLike<number>,
  uRows: ArrayLike<number>,
  blockStart: number,
  blockCount: number,
): Float64Array {
  const out = Float64Array.from(W);
  lazyUpdateInPlace(out, rows, cols, err, uRows, blockStart, blockCount, (p) => p * cols);
  return out;
}

export interface BaselineReferenceOptions {
  sparsity: number;
  pattern?: Pattern;
}

/** Wanda: |W_ij|·‖X_j‖₂; the k smallest of each row (stable order), or the n smallest of each group of m. */
export function wandaReference(
  W: ArrayLike<number>,
  rows: number,
  cols: number,
  norms: ArrayLike<number>,
  options: BaselineReferenceOptions,
): Float64Array {
  const metric = (r: number, j: number) => Math.abs(W[r * cols + j]) * norms[j];
  const out = Float64Array.from(W);
  const pattern = options.pattern ?? 'unstructured';
  if (pattern !== 'unstructured') return pruneGroups(out, rows, cols, pattern, metric);
  const k = Math.floor(cols * options.sparsity);
  for (let r = 0; r < rows; r++) {
    const order = Array.from({ length: cols }, (_, j) => j);
    const values = order.map((j) => metric(r, j));
    order.sort((a, b) => values[a] - values[b] || a - b);
    for (const j of order.slice(0, k)) out[r * cols + j] = 0;
  }
  return out;
}

/** Magnitude: |W| against one layer-wide threshold (metric ≤ k-th smallest), or the n smallest of each group. */
export function magnitudeReference(
  W: ArrayLike<number>,
  rows: number,
  cols: number,
  options: BaselineReferenceOptions,
): Float64Array {
  const out = Float64Array.from(W);
  const pattern = options.pattern ?? 'unstructured';
  if (pattern !== 'unstructured')
    return pruneGroups(out, rows, cols, pattern, (r, j) => Math.abs(W[r * cols + j]));
  if (options.sparsity === 0) return out;
  const sorted = Float64Array.from(out, Math.abs).sort();
  const thresh = sorted[Math.floor(rows * cols * options.sparsity)];
  for (let e = 0; e < out.length; e++) if (Math.abs(out[e]) <= thresh) out[e] = 0;
  return out;
}

function pruneGroups(
  out: Float64Array,
  rows: number,
  cols: number,
  pattern: { n: number; m: number },
  metric: (r: number, j: number) => number,
): Float64Array {
  for (let r = 0; r < rows; r++) {
    for (let j0 = 0; j0 < cols; j0 += pattern.m) {
      for (const g of smallestInGroup((g) => metric(r, j0 + g), pattern.m, pattern.n))
        out[r * cols + j0 + g] = 0;
    }
  }
  return out;
}

/** tr(ΔW·H·ΔWᵀ) / tr(W·H·Wᵀ) with the full symmetric H. */
export function reconstructionErrorReference(
  W: ArrayLike<number>,
  pruned: ArrayLike<number>,
  rows: number,
  cols: number,
  H: ArrayLike<number>,
): { numerator: number; denominator: number; relativeError: number } {
  let numerator = 0;
  let denominator = 0;
  const delta = new Float64Array(cols);
  const row = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      row[j] = W[r * cols + j];
      delta[j] = row[j] - pruned[r * cols + j];
    }
    for (let i = 0; i < cols; i++) {
      let hDelta = 0;
      let hRow = 0;
      for (let j = 0; j < cols; j++) {
        hDelta += H[i * cols + j] * delta[j];
        hRow += H[i * cols + j] * row[j];
      }
      numerator += delta[i] * hDelta;
      denominator += row[i] * hRow;
    }
  }
  const relativeError = denominator > 0 ? numerator / denominator : numerator === 0 ? 0 : Infinity;
  return { numerator, denominator, relativeError };
}

/**
 * Test data for the solver tests: layer inputs with the structure of real activations (correlated features with
 * very different scales, X = Z·A), and comparisons of pruned weights. Deterministic (seeded).
 */
import { gaussian, mulberry32 } from '../../../test/random';

/** X [tokens, columns] = Z·A, Z standard normal [tokens, columns]; A mixes features and scales columns 0.1–10×. */
export function correlatedInputs(tokens: number, columns: number, seed: number): Float32Array {
  const Z = gaussian(tokens * columns, seed);
  const mixing = gaussian(columns * columns, seed + 1);
  const next = mulberry32(seed + 2);
  const scales = Array.from({ length: columns }, () => 10 ** (2 * next() - 1));
  const X = new Float32Array(tokens * columns);
  for (let t = 0; t < tokens; t++) {
    for (let k = 0; k < columns; k++) {
      const z = Z[t * columns + k] * 0.9 ** (k % 16);
      if (z === 0) continue;
      for (let j = 0; j < columns; j++) X[t * columns + j] += z * mixing[k * columns + j];
    }
    for (let j = 0; j < columns; j++) X[t * columns + j] *= scales[j] / Math.sqrt(columns);
  }
  return X;
}

/** Fraction of entries where both agree on being zero or not. */
export function maskAgreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if ((a[i] === 0) === (b[i] === 0)) same++;
  return same / a.length;
}

/** Zeros in columns [start, end) of a row-major [rows, cols] matrix. */
export function zerosInColumns(
  W: ArrayLike<number>,
  rows: number,
  cols: number,
  start: number,
  end: number,
): number {
  let zeros = 0;
  for (let r = 0; r < rows; r++) for (let j = start; j < end; j++) if (W[r * cols + j] === 0) zeros++;
  return zeros;
}

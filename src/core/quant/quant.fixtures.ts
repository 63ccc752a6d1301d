/**
 * Test data for the quantizer tests: rows of typical and awkward weights (pruned zeros, 2:4, outliers, ties, constant,
 * tiny and huge blocks, all-zero blocks), 512 wide: two K-quant super-blocks, sixteen legacy blocks. Deterministic.
 */
import { gaussian, mulberry32 } from '../../../test/random';

export const COLUMNS = 512;

/** Rows of typical and awkward weights, 512 wide (two K-quant super-blocks, 16 legacy blocks). */
export function testRows(): Float32Array {
  const rows: Float32Array[] = [];
  const row = (fill: (i: number) => number) =>
    rows.push(Float32Array.from({ length: COLUMNS }, (_, i) => fill(i)));
  const weights = gaussian(COLUMNS * 6, 7);
  const random = mulberry32(3);
  row((i) => 0.02 * weights[i]);
  // Unstructured 50 %: the smaller half by magnitude set to zero.
  const sorted = [...weights.subarray(COLUMNS, 2 * COLUMNS)].map(Math.abs).sort((a, b) => a - b);
  row((i) => (Math.abs(weights[COLUMNS + i]) > sorted[COLUMNS / 2] ? weights[COLUMNS + i] : 0));
  // 2:4: two zeros in every four.
  row((i) => (i % 4 < 2 ? 0 : weights[2 * COLUMNS + i]));
  // One outlier per 32, and one per 256.
  row((i) => (i % 32 === 5 ? 40 : 0.01 * weights[3 * COLUMNS + i]) * (i % 256 === 7 ? -30 : 1));
  // Ties: x·(1/d) lands on .5 (Q8_0 rounds half away from zero, the K-quants to even).
  row((i) => (i % 32 === 0 ? 127 : (i % 64) - 31.5));
  row((i) => (i % 16 === 0 ? -8 : Math.round(random() * 16 - 8) + 0.5));
  // Constant blocks, all-positive, all-negative, tiny (fp16 subnormal scales), huge.
  row((i) => (i < 256 ? 0.75 : -0.25));
  row((i) => Math.abs(weights[4 * COLUMNS + i]));
  row((i) => -Math.abs(weights[4 * COLUMNS + i]) - 1);
  row((i) => 1e-7 * weights[5 * COLUMNS + i]);
  row((i) => 3000 * weights[5 * COLUMNS + i]);
  // All zero, and zero blocks inside a non-zero super-block.
  row(() => 0);
  row((i) => (Math.floor(i / 32) % 3 === 0 ? 0 : weights[i]));
  row((i) => (Math.floor(i / 16) % 2 === 0 ? 0 : weights[2 * COLUMNS + i]));
  const out = new Float32Array(rows.length * COLUMNS);
  rows.forEach((r, i) => {
    out.set(r, i * COLUMNS);
  });
  return out;
}

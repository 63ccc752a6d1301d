/**
 * Quantization in the layer solve (GPTQ in SparseGPT's walk, round-to-nearest on the same kernels): with H = I no
 * error spreads, so GPTQ and round-to-nearest must reproduce the CPU ggml quantizer (itself bit-exact with
 * llama.cpp's, rows.test.ts) bit for bit, on awkward rows; on correlated inputs the GPU result must lie on the grid
 * of the scales it hands over (re-quantizing it under them with the CPU quantizer gives it back, so the file holds
 * exactly the solver's values), keep pruned weights at exactly 0, follow the float64 reference of the joint walk
 * (quantize.reference.ts), and beat round-to-nearest.
 */
import { describe, expect, it } from 'vitest';
import { useGpu } from '../../../test/gpu';
import { gaussian } from '../../../test/random';
import type { GgmlType } from '../quant/ggml-types';
import { COLUMNS, testRows } from '../quant/quant.fixtures';
import { dequantizeRows, quantizeRows } from '../quant/rows';
import { packSolvedRows } from '../quant/solved-rows';
import { HessianAccumulator } from './hessian';
import { correlatedInputs, maskAgreement } from './layer-solver.fixtures';
import { hessianReference, type Pattern, reconstructionErrorReference } from './layer-solver.reference';
import { prepareLayer } from './prepare';
import { pruneLayer } from './prune';
import { quantizeReference } from './quantize.reference';

/**
 * The first index where `ours` differs from `expected` in its bits; a K-quant sub-block whose scale is 0 holds 0
 * whatever its codes, and ggml keeps its search's codes there, which the solver does not: such zeros may differ
 * in their sign.
 */
function firstDifference(ours: Float32Array, expected: Float32Array, type: GgmlType | 'any'): number {
  const signOfZeroFree = type === 'any' || type.endsWith('_K');
  return ours.findIndex(
    (v, i) => !Object.is(v, expected[i]) && !(signOfZeroFree && v === 0 && expected[i] === 0),
  );
}

function identity(columns: number): Float32Array {
  const H = new Float32Array(columns * columns);
  for (let j = 0; j < columns; j++) H[j * columns + j] = 1;
  return H;
}

describe('quantizing with no error to spread (H = I)', () => {
  const gpu = useGpu();
  const values = testRows();
  const rows = values.length / COLUMNS;

  it.each(['F16', 'Q8_0', 'Q4_0', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'] as GgmlType[])(
    '%s: GPTQ and round-to-nearest give the CPU quantizer’s values bit for bit',
    async (type) => {
      const ctx = await gpu();
      const prepared = await prepareLayer(ctx, identity(COLUMNS), COLUMNS);
      const expected = dequantizeRows(type, quantizeRows(type, values, COLUMNS), values.length);
      for (const method of ['gptq', 'rtn'] as const) {
        const result = await pruneLayer(ctx, values, rows, COLUMNS, prepared, {
          sparsity: 0,
          quantization: { type, method, search: false },
        });
        expect({ method, at: firstDifference(result.W, expected, type) }).toEqual({ method, at: -1 });
        // The file's blocks dequantize to the solver's values (where a block's fp16 scale underflowed to 0, any code
        // gives 0, ggml's with their signs: zeros may differ in sign there).
        const packed = packSolvedRows(type, result.W, result.quantization?.scales, COLUMNS);
        expect(firstDifference(dequantizeRows(type, packed, values.length), expected, 'any')).toBe(-1);
      }
      prepared.destroy();
    },
  );
});

describe('GPTQ in the walk on correlated inputs', () => {
  const gpu = useGpu();

  interface Case {
    type: GgmlType;
    rows: number;
    cols: number;
    sparsity: number;
    pattern: Pattern;
  }

  async function solve(c: Case, method: 'gptq' | 'rtn', search = true) {
    const ctx = await gpu();
    const X = correlatedInputs(3 * c.cols, c.cols, c.cols + c.rows);
    const H = hessianReference(X, 3 * c.cols, c.cols);
    const W = gaussian(c.rows * c.cols, c.rows * 7 + c.cols);
    const accumulator = new HessianAccumulator(ctx, c.cols);
    accumulator.addFromArray(X, 3 * c.cols);
    const prepared = await prepareLayer(ctx, accumulator, c.cols);
    accumulator.destroy();
    const options = { sparsity: c.sparsity, pattern: c.pattern, blockSize: 64 };
    const result = await pruneLayer(ctx, W, c.rows, c.cols, prepared, {
      ...options,
      quantization: { type: c.type, method, search },
    });
    prepared.destroy();
    const reference = quantizeReference(W, c.rows, c.cols, H, { ...options, type: c.type, method, search });
    const error = (values: ArrayLike<number>) =>
      reconstructionErrorReference(W, values, c.rows, c.cols, H).relativeError;
    return { W, H, result, reference, error };
  }

  it.each([
    { type: 'Q4_0', rows: 40, cols: 128, sparsity: 0, pattern: 'unstructured' },
    { type: 'Q4_0', rows: 40, cols: 128, sparsity: 0.5, pattern: 'unstructured' },
    { type: 'Q4_0', rows: 40, cols: 128, sparsity: 0, pattern: { n: 2, m: 4 } },
    { type: 'Q8_0', rows: 40, cols: 96, sparsity: 0.5, pattern: 'unstructured' },
    { type: 'Q5_0', rows: 33, cols: 64, sparsity: 0, pattern: 'unstructured' },
    { type: 'Q5_1', rows: 33, cols: 64, sparsity: 0.3, pattern: 'unstructured' },
    { type: 'F16', rows: 21, cols: 70, sparsity: 0.5, pattern: 'unstructured' },
    { type: 'Q4_K', rows: 16, cols: 512, sparsity: 0, pattern: 'unstructured' },
    { type: 'Q6_K', rows: 16, cols: 512, sparsity: 0, pattern: { n: 2, m: 4 } },
  ] as Case[])(
    '$type, sparsity $sparsity, $pattern: on its grid, pruned to 0, as the float64 reference',
    async (c) => {
      const { result, reference, error } = await solve(c, 'gptq');
      const scales = result.quantization?.scales;
      // Re-quantizing the GPU's values under the scales it handed over gives them back (packSolvedRows checks each).
      const packed = packSolvedRows(c.type, result.W, scales, c.cols);
      expect(firstDifference(dequantizeRows(c.type, packed, result.W.length), result.W, 'any')).toBe(-1);
      const target = c.pattern === 'unstructured' ? c.sparsity : c.pattern.n / c.pattern.m;
      if (c.type !== 'Q5_1') expect(result.sparsity).toBeGreaterThanOrEqual(target - 0.01);
      const ours = error(result.W);
      const theirs = error(reference);
      console.log(
        `${c.type} ${c.sparsity} ${JSON.stringify(c.pattern)}: GPU ${ours.toExponential(4)} reference ${theirs.toExponential(4)} same values ${maskAgreement(result.W, reference)}`,
      );
      expect(Math.abs(ours / theirs - 1)).toBeLessThan(0.03);
    },
  );
});

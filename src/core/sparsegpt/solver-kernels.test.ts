/**
 * Each solver kernel against its float64 reference: Hessian accumulation, the damped factorization U, the lazy
 * batch update GEMM, the reconstruction error metric, and the mask kernels of the baselines (radix select).
 * One file, one device: compiling the pipelines on SwiftShader costs seconds, so they are compiled once here.
 */
import { describe, expect, it } from 'vitest';
import { relativeMaxError } from '../../../test/compare';
import { KERNEL_FORMS, useGpu } from '../../../test/gpu';
import { gaussian } from '../../../test/random';
import { readFloat32, uploadFloat32 } from '../gpu/buffers';
import { CholeskyFailedError, InvalidSettingError, InvalidTensorError } from './errors';
import { HessianAccumulator } from './hessian';
import { correlatedInputs } from './layer-solver.fixtures';
import {
  hessianReference,
  lazyUpdateReference,
  magnitudeReference,
  prepareReference,
  reconstructionErrorReference,
  wandaReference,
} from './layer-solver.reference';
import { lazyBatchUpdate } from './lazy-update';
import { prepareLayer } from './prepare';
import { pruneLayer } from './prune';
import { reconstructionError } from './reconstruction-error';

/** The upper triangle of a row-major n×n matrix, zeros below (what the GPU keeps of H and of U). */
function upper(M: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) out[i * n + j] = M[i * n + j];
  return out;
}

describe('solver kernels against float64 references', () => {
  const gpu = useGpu();

  describe('Hessian accumulation', () => {
    it('keeps the running mean 2/N·XᵀX over uneven batches (f32 accumulation, ≤ 1e-5 of max |H|)', async () => {
      const ctx = await gpu();
      const columns = 70;
      const batches = [37, 64, 5, 94];
      const tokens = batches.reduce((a, b) => a + b);
      const X = correlatedInputs(tokens, columns, 11);
      const accumulator = new HessianAccumulator(ctx, columns);
      let start = 0;
      for (const count of batches) {
        accumulator.addFromArray(X.subarray(start * columns, (start + count) * columns), count);
        start += count;
      }
      expect(accumulator.tokens).toBe(tokens);
      const H = await accumulator.H.read();
      const expected = upper(hessianReference(X, tokens, columns), columns);
      expect(relativeMaxError(upper(H, columns), expected)).toBeLessThan(1e-5);
      accumulator.destroy();
    });

    it.each([
      [19, 3], // scalar reads
      [20, 4], // vec4 reads
    ])(
      'reads X straight from a GPU buffer (%i columns) at a float offset %i (the forward pass capture)',
      async (columns, offset) => {
        const ctx = await gpu();
        const tokens = 41;
        const X = correlatedInputs(tokens, columns, 5);
        const padded = new Float32Array(offset + X.length);
        padded.set(X, offset);
        const buffer = uploadFloat32(ctx, padded, 'X');
        const accumulator = new HessianAccumulator(ctx, columns);
        accumulator.add(buffer, 30, offset);
        accumulator.add(buffer, tokens - 30, offset + 30 * columns);
        const H = await accumulator.H.read();
        const expected = upper(hessianReference(X, tokens, columns), columns);
        expect(relativeMaxError(upper(H, columns), expected)).toBeLessThan(1e-5);
        expect(() => accumulator.add(buffer, tokens + 1, offset)).toThrow(InvalidTensorError);
        expect(() => accumulator.add(buffer, 1.5)).toThrow(/token count/);
        buffer.destroy();
        accumulator.destroy();
      },
    );

    it('rejects non-finite inputs with the position of the bad value', async () => {
      const ctx = await gpu();
      const accumulator = new HessianAccumulator(ctx, 4);
      const X = new Float32Array(8);
      X[6] = Number.NaN;
      expect(() => accumulator.addFromArray(X, 2)).toThrow(/X\[1, 2\] is NaN/);
      accumulator.destroy();
    });
  });

  describe('preparation: dead inputs, dampening, U = upper Cholesky factor of H⁻¹', () => {
    it.each([
      [70, 0.01],
      [130, 0.01], // three 64-blocks, the last partial
      [64, 0.1],
      [5, 0.01],
    ])('matches the reference for %i columns, percdamp %f (≤ 1e-4 of max |U|)', async (columns, percdamp) => {
      const ctx = await gpu();
      const tokens = 2 * columns + 17;
      const X = correlatedInputs(tokens, columns, columns);
      const accumulator = new HessianAccumulator(ctx, columns);
      accumulator.addFromArray(X, tokens);
      const prepared = await prepareLayer(ctx, accumulator, columns, { percdamp });
      const reference = prepareReference(hessianReference(X, tokens, columns), columns, percdamp);
      const U = await prepared.U.read();
      expect(relativeMaxError(U, reference.U)).toBeLessThan(1e-4);
      expect(prepared.retries).toBe(0);
      expect(prepared.percdamp).toBe(percdamp);
      expect(prepared.damping).toBeCloseTo(reference.damping, 5);
      expect(prepared.deadCount).toBe(0);
      expect(prepared.tokens).toBe(tokens);
      prepared.destroy();
      accumulator.destroy();
    });

    it('sets dead inputs to H_jj = 1 and reports them; Wanda norms are ‖X_j‖₂', async () => {
      const ctx = await gpu();
      const columns = 40;
      const tokens = 90;
      const X = correlatedInputs(tokens, columns, 3);
      for (let t = 0; t < tokens; t++) for (const j of [0, 17, 39]) X[t * columns + j] = 0;
      const accumulator = new HessianAccumulator(ctx, columns);
      accumulator.addFromArray(X, tokens);
      const prepared = await prepareLayer(ctx, accumulator, columns);
      const H = hessianReference(X, tokens, columns);
      const reference = prepareReference(H, columns);
      expect(prepared.deadCount).toBe(3);
      expect(relativeMaxError(await prepared.U.read(), reference.U)).toBeLessThan(1e-4);
      const norms = await readFloat32(ctx, prepared.columnNorms, columns);
      for (const j of [0, 1, 17, 25]) {
        let sum = 0;
        for (let t = 0; t < tokens; t++) sum += X[t * columns + j] ** 2;
        expect(norms[j]).toBeCloseTo(Math.sqrt(sum), 3);
      }
      prepared.destroy();
      accumulator.destroy();
    });

    it('retries with ×10 dampening while a pivot is not positive, and reports it', async () => {
      const ctx = await gpu();
      // Eigenvalues −1 and 3: indefinite until λ = percdamp·mean(diag) exceeds 1; 0.01 → 0.1 → 1 (singular) → 10.
      const H = new Float32Array([1, 2, 2, 1]);
      const prepared = await prepareLayer(ctx, H, 2);
      expect(prepared.retries).toBe(3);
      expect(prepared.percdamp).toBeCloseTo(10, 10);
      expect(prepared.damping).toBeCloseTo(10, 5);
      const reference = prepareReference(H, 2, 10);
      expect(relativeMaxError(await prepared.U.read(), reference.U)).toBeLessThan(1e-5);
      prepared.destroy();
      await expect(prepareLayer(ctx, H, 2, { maxRetries: 1 })).rejects.toThrow(CholeskyFailedError);
    });

    it('rejects bad settings and bad Hessians with specific errors', async () => {
      const ctx = await gpu();
      const H = new Float32Array([2, 0, 0, 2]);
      await expect(prepareLayer(ctx, H, 2, { percdamp: -1 })).rejects.toThrow(InvalidSettingError);
      await expect(prepareLayer(ctx, H, 3)).rejects.toThrow(/needs 9/);
      await expect(
        prepareLayer(ctx, new Float32Array([1, Number.POSITIVE_INFINITY, 0, 1]), 2),
      ).rejects.toThrow(/H\[0, 1\] is Infinity/);
      const empty = new HessianAccumulator(ctx, 2);
      await expect(prepareLayer(ctx, empty, 2)).rejects.toThrow(/no calibration tokens/);
      empty.destroy();
    });
  });

  it.each([
    [37, 70],
    [130, 67],
  ])(
    'reconstruction error tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ) of a %i×%i layer (≤ 1e-4 relative)',
    async (rows, columns) => {
      const ctx = await gpu();
      const X = correlatedInputs(3 * columns, columns, 9);
      const H = hessianReference(X, 3 * columns, columns);
      const W = gaussian(rows * columns, 4);
      const pruned = Float32Array.from(W, (w, i) => (i % 3 === 0 ? 0 : w * 0.97));
      const result = await reconstructionError(ctx, W, pruned, rows, columns, Float32Array.from(H));
      const expected = reconstructionErrorReference(W, pruned, rows, columns, H);
      expect(Math.abs(result.numerator / expected.numerator - 1)).toBeLessThan(1e-4);
      expect(Math.abs(result.denominator / expected.denominator - 1)).toBeLessThan(1e-4);
      expect(Math.abs(result.relativeError / expected.relativeError - 1)).toBeLessThan(1e-4);
    },
  );

  describe('baseline masks (radix select, per-row select, N:M groups)', () => {
    const rows = 29;
    const columns = 72;
    const tokens = 150;
    const X = correlatedInputs(tokens, columns, 21);
    const H = hessianReference(X, tokens, columns);
    const W = gaussian(rows * columns, 8);

    it.each([
      ['magnitude', 0.5, 'unstructured'],
      ['magnitude', 0.73, 'unstructured'],
      ['magnitude', 0, 'unstructured'],
      ['wanda', 0.5, 'unstructured'],
      ['wanda', 0.31, 'unstructured'],
      ['magnitude', 0.5, { n: 2, m: 4 }],
      ['wanda', 0.5, { n: 4, m: 8 }],
      ['wanda', 0.5, { n: 3, m: 24 }],
    ] as const)(
      '%s at sparsity %f, pattern %j: exactly the reference mask',
      async (method, sparsity, pattern) => {
        const ctx = await gpu();
        const accumulator = new HessianAccumulator(ctx, columns);
        accumulator.addFromArray(X, tokens);
        const prepared = await prepareLayer(ctx, accumulator, columns);
        const result = await pruneLayer(ctx, W, rows, columns, prepared, { method, sparsity, pattern });
        const norms = Array.from({ length: columns }, (_, j) => Math.sqrt((H[j * columns + j] * tokens) / 2));
        const expected =
          method === 'wanda'
            ? wandaReference(W, rows, columns, norms, { sparsity, pattern })
            : magnitudeReference(W, rows, columns, { sparsity, pattern });
        expect(Array.from(result.W)).toEqual(Array.from(expected, Math.fround));
        const error = reconstructionErrorReference(W, expected, rows, columns, H).relativeError;
        if (error === 0) expect(result.relativeError).toBe(0);
        else expect(Math.abs(result.relativeError / error - 1)).toBeLessThan(1e-4);
        prepared.destroy();
        accumulator.destroy();
      },
    );
  });
});

const LAZY_UPDATE_SHAPES: Array<[number, number, number, number]> = [
  [37, 70, 32, 20], // nothing a multiple of 4; a middle block
  [37, 70, 10, 13], // the block ends off a multiple of 4
  [150, 300, 128, 128], // several workgroups each way
  [65, 130, 0, 64],
  [3, 9, 0, 9], // a block with nothing after it: W unchanged
];

function lazyUpdateInputs(rows: number, columns: number, count: number) {
  return {
    W: gaussian(rows * columns, rows),
    err: gaussian(rows * count, columns),
    uRows: gaussian(count * columns, count),
  };
}

describe.each(KERNEL_FORMS)('lazy batch update, %s', (_, kernels) => {
  const gpu = useGpu(kernels);
  it.each(LAZY_UPDATE_SHAPES)(
    'GEMM of a %i×%i layer, block at %i of %i columns matches float64 (≤ 1e-5)',
    async (rows, columns, start, count) => {
      const ctx = await gpu();
      const { W, err, uRows } = lazyUpdateInputs(rows, columns, count);
      const out = await lazyBatchUpdate(ctx, W, rows, columns, err, uRows, start, count);
      const expected = lazyUpdateReference(W, rows, columns, err, uRows, start, count);
      expect(relativeMaxError(out, expected)).toBeLessThan(1e-5);
    },
  );
});

describe('lazy batch update: the GPU form (workgroup-memory tiles) agrees with the CPU form', () => {
  const cpuForm = useGpu({ kernels: 'cpu' });
  const gpuForm = useGpu({ kernels: 'gpu' });
  it.each(LAZY_UPDATE_SHAPES)(
    '%i×%i, block at %i of %i columns (≤ 1e-6)',
    async (rows, columns, start, count) => {
      const { W, err, uRows } = lazyUpdateInputs(rows, columns, count);
      const [a, b] = await Promise.all(
        [cpuForm, gpuForm].map(async (gpu) =>
          lazyBatchUpdate(await gpu(), W, rows, columns, err, uRows, start, count),
        ),
      );
      expect(relativeMaxError(b, a)).toBeLessThan(1e-6);
    },
  );
});

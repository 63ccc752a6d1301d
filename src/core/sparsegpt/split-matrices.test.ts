/**
 * Big tensors split across bindings: with the storage binding limit lowered to 40 KiB, a 150-wide H, U and a
 * 150-row W each span three buffers and X is bound in 67-token windows. Results must still match the float64
 * reference, as on a real GPU whose 128 MiB binding limit an 11008-wide layer's H (485 MB) exceeds.
 */
import { describe, expect, it } from 'vitest';
import { relativeMaxError } from '../../../test/compare';
import { useGpu } from '../../../test/gpu';
import { gaussian } from '../../../test/random';
import { InvalidSettingError } from './errors';
import { HessianAccumulator } from './hessian';
import { correlatedInputs, maskAgreement } from './layer-solver.fixtures';
import {
  hessianReference,
  magnitudeReference,
  prepareReference,
  reconstructionErrorReference,
  sparsegptReference,
  wandaReference,
} from './layer-solver.reference';
import { prepareLayer } from './prepare';
import { pruneLayer } from './prune';

const LIMIT = 40 * 1024;

describe('solver with tensors split across storage bindings', () => {
  const gpu = useGpu({ testLimits: { maxStorageBufferBindingSize: LIMIT } });
  const rows = 150;
  const cols = 150;
  const tokens = 300;
  const X = correlatedInputs(tokens, cols, 42);
  const H = hessianReference(X, tokens, cols);
  const W = gaussian(rows * cols, 43);

  it('accumulates H, factors U and prunes with every method like the reference', async () => {
    const ctx = await gpu();
    expect(ctx.limits.maxStorageBufferBindingSize).toBe(LIMIT);
    const accumulator = new HessianAccumulator(ctx, cols);
    accumulator.addFromArray(X, tokens);
    expect(accumulator.H.parts.map((part) => part.rows)).toEqual([64, 64, 22]);
    const Hgpu = await accumulator.H.read();
    const upper = (M: ArrayLike<number>) =>
      Float64Array.from(M, (v, e) => (e % cols >= Math.floor(e / cols) ? v : 0));
    expect(relativeMaxError(upper(Hgpu), upper(H))).toBeLessThan(1e-5);

    const prepared = await prepareLayer(ctx, accumulator, cols);
    expect(prepared.U.parts).toHaveLength(3);
    expect(relativeMaxError(await prepared.U.read(), prepareReference(H, cols).U)).toBeLessThan(1e-4);

    const sparsegpt = await pruneLayer(ctx, W, rows, cols, prepared, { sparsity: 0.5, blockSize: 32 });
    const reference = sparsegptReference(W, rows, cols, H, { sparsity: 0.5, blockSize: 32 });
    expect(maskAgreement(sparsegpt.W, reference.W)).toBeGreaterThanOrEqual(0.995);
    const referenceError = reconstructionErrorReference(W, reference.W, rows, cols, H).relativeError;
    expect(Math.abs(sparsegpt.relativeError / referenceError - 1)).toBeLessThan(0.02);

    const nm = await pruneLayer(ctx, W, rows, cols, prepared, { pattern: { n: 1, m: 2 }, blockSize: 64 });
    const nmReference = sparsegptReference(W, rows, cols, H, {
      sparsity: 0,
      pattern: { n: 1, m: 2 },
      blockSize: 64,
    });
    expect(maskAgreement(nm.W, nmReference.W)).toBeGreaterThanOrEqual(0.995);

    const norms = Array.from({ length: cols }, (_, j) => Math.sqrt((H[j * cols + j] * tokens) / 2));
    const wanda = await pruneLayer(ctx, W, rows, cols, prepared, { method: 'wanda', sparsity: 0.6 });
    expect(Array.from(wanda.W)).toEqual(
      Array.from(wandaReference(W, rows, cols, norms, { sparsity: 0.6 }), Math.fround),
    );
    const magnitude = await pruneLayer(ctx, W, rows, cols, prepared, { method: 'magnitude', sparsity: 0.4 });
    expect(Array.from(magnitude.W)).toEqual(
      Array.from(magnitudeReference(W, rows, cols, { sparsity: 0.4 }), Math.fround),
    );
    const magnitudeError = reconstructionErrorReference(W, magnitude.W, rows, cols, H).relativeError;
    expect(Math.abs(magnitude.relativeError / magnitudeError - 1)).toBeLessThan(1e-4);

    await expect(pruneLayer(ctx, W, rows, cols, prepared, { blockSize: 128 })).rejects.toThrow(
      InvalidSettingError,
    );
    prepared.destroy();
    accumulator.destroy();
  });

  it('factors U across parts with vec4 rows too (a width that is a multiple of 4)', async () => {
    const ctx = await gpu();
    const width = 148;
    const inputs = correlatedInputs(tokens, width, 44);
    const accumulator = new HessianAccumulator(ctx, width);
    accumulator.addFromArray(inputs, tokens);
    const prepared = await prepareLayer(ctx, accumulator, width);
    expect(prepared.U.parts).toHaveLength(3);
    const reference = prepareReference(hessianReference(inputs, tokens, width), width).U;
    expect(relativeMaxError(await prepared.U.read(), reference)).toBeLessThan(1e-4);
    prepared.destroy();
    accumulator.destroy();
  });

  it('says plainly when not even 64 rows fit one binding', async () => {
    const ctx = await gpu();
    expect(() => new HessianAccumulator(ctx, 200)).toThrow(
      /64 rows of 200 floats .* exceed .* binding limit/,
    );
  });
});

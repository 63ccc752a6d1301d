import { describe, expect, it } from 'vitest';
import { relativeMaxError } from '../../../test/compare';
import { useGpu } from '../../../test/gpu';
import { gaussian } from '../../../test/random';
import { matmul } from './matmul';
import { matmulReference } from './matmul.reference';

describe('matmul kernel (register-tiled, vec4)', () => {
  const gpu = useGpu();

  it.each([
    [64, 64, 64],
    [37, 53, 29], // nothing a multiple of 4
    [1, 7, 1],
    [130, 96, 258],
  ])('matches the float64 product for M=%i K=%i N=%i', async (M, K, N) => {
    const ctx = await gpu();
    const A = gaussian(M * K, M * 31 + K);
    const B = gaussian(K * N, N * 17 + 5);
    const C = await matmul(ctx, A, B, M, K, N);
    expect(C.length).toBe(M * N);
    expect(relativeMaxError(C, matmulReference(A, B, M, K, N))).toBeLessThan(1e-5);
  });

  it('detects a wrong answer: a single changed input entry moves the result beyond tolerance', async () => {
    const ctx = await gpu();
    const [M, K, N] = [16, 16, 16];
    const A = gaussian(M * K, 1);
    const B = gaussian(K * N, 2);
    const C = await matmul(ctx, A, B, M, K, N);
    const perturbed = Float32Array.from(A);
    perturbed[5] += 0.5;
    expect(relativeMaxError(C, matmulReference(perturbed, B, M, K, N))).toBeGreaterThan(1e-3);
  });
});

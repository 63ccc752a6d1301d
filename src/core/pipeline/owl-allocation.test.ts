import { describe, expect, it } from 'vitest';
import { outlierRatio, owlBlockSparsity } from './owl-allocation';

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('OWL allocation', () => {
  it('counts the scores |W_ij|·‖X_j‖ above M × the mean over all of a block’s linears', () => {
    // Scores [[1·2, 2·1], [0.5·2, 4·1]] = [[2, 2], [1, 4]] and [[3·1]]: mean 12 / 5 = 2.4.
    const block = [
      { W: [1, -2, 0.5, 4], rows: 2, cols: 2, norms: [2, 1] },
      { W: [-3], rows: 1, cols: 1, norms: [1] },
    ];
    // M = 1.5: above 3.6 only the 4 → 1 of 5. M = 1: above 2.4, the 4 and the 3 → 2 of 5.
    expect(outlierRatio(block, 1.5)).toBeCloseTo(1 / 5, 12);
    expect(outlierRatio(block, 1)).toBeCloseTo(2 / 5, 12);
  });

  it('matches a hand-computed allocation where the linear map stays within ±λ', () => {
    // D = [1, 2, 3]: offsets 0, 0.08, 0.16 (span 2λ), mean 0.08 → sparsities 0.58, 0.50, 0.42.
    const sparsity = owlBlockSparsity([1, 2, 3], 0.5, 0.08);
    for (const [i, s] of [0.58, 0.5, 0.42].entries()) expect(sparsity[i]).toBeCloseTo(s, 12);
  });

  it('scales the offsets down where a block would leave ±λ, keeping the average', () => {
    // D = [1, 2, 3, 6]: offsets 0, 0.032, 0.064, 0.16, mean 0.064 → 0.064, 0.032, 0, −0.096; the widest (0.096)
    // is beyond λ = 0.08, so all are scaled by 0.08 / 0.096: 0.0533…, 0.0266…, 0, −0.08.
    const sparsity = owlBlockSparsity([1, 2, 3, 6], 0.5, 0.08);
    const expected = [0.5 + 0.064 / 1.2, 0.5 + 0.032 / 1.2, 0.5, 0.42];
    for (const [i, s] of expected.entries()) expect(sparsity[i]).toBeCloseTo(s, 12);
    expect(mean(sparsity)).toBeCloseTo(0.5, 12);
    for (const s of sparsity) expect(Math.abs(s - 0.5)).toBeLessThanOrEqual(0.08 + 1e-12);
  });

  it('averages to the target within ±λ for many outlier distributions, more outliers less sparse', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 200; trial++) {
      const blocks = 2 + Math.floor(random() * 40);
      const ratios = Array.from({ length: blocks }, () => random() ** 3 * 0.05);
      const target = 0.05 + random() * 0.9;
      const lambda = random() * 0.2;
      const sparsity = owlBlockSparsity(ratios, target, lambda);
      expect(mean(sparsity)).toBeCloseTo(target, 12);
      for (const s of sparsity) {
        expect(Math.abs(s - target)).toBeLessThanOrEqual(lambda + 1e-12);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThan(1);
      }
      const order = ratios.map((_, i) => i).sort((a, b) => ratios[a] - ratios[b]);
      for (let k = 1; k < order.length; k++) {
        expect(sparsity[order[k]]).toBeLessThanOrEqual(sparsity[order[k - 1]] + 1e-12);
      }
    }
  });

  it('gives the target everywhere when the blocks cannot be told apart, and stays in [0, 1)', () => {
    expect(owlBlockSparsity([0.01, 0.01, 0.01], 0.6, 0.08)).toEqual([0.6, 0.6, 0.6]);
    const low = owlBlockSparsity([0, 1], 0.03, 0.08);
    expect(Math.min(...low)).toBeCloseTo(0, 12);
    const high = owlBlockSparsity([0, 1], 0.95, 0.08);
    expect(Math.max(...high)).toBeCloseTo(0.975, 12);
  });
});

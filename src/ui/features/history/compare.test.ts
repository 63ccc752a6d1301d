import { describe, expect, it } from 'vitest';
import { bestOf } from './compare';

describe('the best value of a comparison row', () => {
  it('is the lowest where lower is better', () => {
    expect([...bestOf([12.1, 9.8, 30], 'lower')]).toEqual([1]);
    expect([...bestOf([5, undefined, 5, 7], 'lower')]).toEqual([0, 2]);
  });

  it('is not marked when all values are equal, or only one is known', () => {
    // The walkthrough: two runs of the same model both marked best for their equal dense perplexity.
    expect(bestOf([4.43, 4.43], 'lower').size).toBe(0);
    expect(bestOf([4.43, undefined], 'lower').size).toBe(0);
  });

  it('is never marked for a row where no value is better (sparsity is a choice, not a score)', () => {
    expect(bestOf([0.5, 0.6, 0.7], 'none').size).toBe(0);
  });
});

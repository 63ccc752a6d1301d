import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../settings/prune-settings';
import { sweepCsv } from './report';
import { pointSettings, sweepPoints, sweepProblems } from './sweep';

describe('sweep points', () => {
  it('runs each sparsity (ascending, once) for every method, then each pattern', () => {
    const points = sweepPoints({
      methods: ['wanda', 'sparsegpt', 'wanda'],
      sparsities: [0.7, 0.3, 0.7],
      patterns: [
        { n: 2, m: 4 },
        { n: 2, m: 4 },
      ],
    });
    expect(points.map((p) => `${p.method} ${p.label}`)).toEqual([
      'wanda 30%',
      'sparsegpt 30%',
      'wanda 70%',
      'sparsegpt 70%',
      'wanda 2:4',
      'sparsegpt 2:4',
    ]);
    expect(points[4].sparsity).toBe(0.5);
    const settings = pointSettings({ ...DEFAULT_SETTINGS, sparsity: 0.4 }, points[4]);
    expect(settings).toMatchObject({ method: 'wanda', pattern: { n: 2, m: 4 }, sparsity: 0.4 });
  });

  it('names each bad point once, and an empty sweep', () => {
    expect(sweepProblems({ methods: [], sparsities: [], patterns: [] }, DEFAULT_SETTINGS)).toEqual([
      'Pick at least one method to sweep.',
      'Give at least one sparsity or N:M pattern to sweep.',
    ]);
    const problems = sweepProblems(
      { methods: ['sparsegpt', 'wanda'], sparsities: [1.2], patterns: [{ n: 4, m: 2 }] },
      DEFAULT_SETTINGS,
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^120%: Sparsity must be at least 0 and below 1/);
    expect(problems[1]).toMatch(/^4:2: An N:M pattern needs whole numbers/);
  });

  it('writes one CSV row per point, the dense perplexity on each', () => {
    const [point] = sweepPoints({ methods: ['magnitude'], sparsities: [0.5], patterns: [] });
    const csv = sweepCsv(
      [
        {
          point,
          sparsityOfPrunedLayers: 0.5,
          sparsityOfAllLinears: 0.49999999999,
          prunedPerplexity: 12.3456789012,
          seconds: 1.5,
        },
      ],
      10.25,
    );
    expect(csv.split('\n')[1]).toBe('magnitude,unstructured,0.5,0.5,0.5,10.25,12.345679,1.5');
  });
});

import { describe, expect, it } from 'vitest';
import { sweepPoints } from '../../../core/sweep/sweep';
import { sweepChartData } from './chart-data';
import { readSweepForm } from './request';

describe('the sweep form', () => {
  it('reads percentages and N:M patterns, naming each bad entry', () => {
    expect(readSweepForm({ methods: ['wanda'], sparsities: '30, 50%;70', patterns: '2:4 4:8' })).toEqual({
      request: {
        methods: ['wanda'],
        sparsities: [0.3, 0.5, 0.7],
        patterns: [
          { n: 2, m: 4 },
          { n: 4, m: 8 },
        ],
      },
      problems: [],
    });
    expect(readSweepForm({ methods: [], sparsities: 'half, 40', patterns: '2/4' }).problems).toEqual([
      '“half” is not a percentage (e.g. 50).',
      '“2/4” is not an N:M pattern (e.g. 2:4).',
    ]);
  });

  it('charts one series per method, N:M points apart, gaps as null', () => {
    const points = sweepPoints({
      methods: ['wanda', 'magnitude'],
      sparsities: [0.3, 0.6],
      patterns: [{ n: 2, m: 4 }],
    });
    const results = points
      .filter((p) => !(p.method === 'magnitude' && p.sparsity === 0.6))
      .map((point, i) => ({
        point,
        sparsityOfPrunedLayers: 0,
        sparsityOfAllLinears: 0,
        prunedPerplexity: 10 + i,
        seconds: 1,
      }));
    const { xs, series } = sweepChartData(results);
    expect(xs).toEqual([0.3, 0.5, 0.6]);
    expect(series.map((s) => `${s.method} ${s.pattern}`)).toEqual([
      'wanda unstructured',
      'magnitude unstructured',
      'wanda 2:4',
      'magnitude 2:4',
    ]);
    expect(series[0].values).toEqual([10, null, 12]);
    expect(series[1].values).toEqual([11, null, null]);
    expect(series[2].values).toEqual([null, 13, null]);
  });
});

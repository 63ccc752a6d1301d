/**
 * Choosing tokens: the user's settings checked with a message per setting; top-p sampling draws each token of the
 * nucleus with its renormalised probability (counted exactly over a fine grid of draws, against float64 softmax);
 * a seed gives the same draws every time.
 */
import { describe, expect, it } from 'vitest';
import { argmax, GREEDY, SamplingError, sampleTopP, samplingOf, TokenPicker } from './sampling';

function expectSamplingError(settings: Parameters<typeof samplingOf>[0], setting: string, message: RegExp) {
  let error: unknown;
  try {
    samplingOf(settings);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(SamplingError);
  expect((error as SamplingError).setting).toBe(setting);
  expect((error as Error).message).toMatch(message);
}

describe('sampling settings', () => {
  it('temperature 0 is greedy; above 0 samples with top-p and the seed', () => {
    expect(samplingOf({ temperature: 0, topP: 0.5, seed: 3 })).toEqual(GREEDY);
    expect(samplingOf({ temperature: 0.7, topP: 0.9, seed: 3 })).toEqual({
      kind: 'sample',
      temperature: 0.7,
      topP: 0.9,
      seed: 3,
    });
  });

  it('names the setting out of range', () => {
    expectSamplingError(
      { temperature: -0.1, topP: 1, seed: 0 },
      'temperature',
      /0 \(greedy\) or above; got -0.1/,
    );
    expectSamplingError({ temperature: Number.NaN, topP: 1, seed: 0 }, 'temperature', /got NaN/);
    expectSamplingError({ temperature: 1, topP: 0, seed: 0 }, 'topP', /above 0 and at most 1 .*got 0\./);
    expectSamplingError({ temperature: 1, topP: 1.5, seed: 0 }, 'topP', /got 1.5/);
    expectSamplingError({ temperature: 1, topP: 1, seed: 1.5 }, 'seed', /whole number from 0 to 4294967295/);
    expectSamplingError({ temperature: 1, topP: 1, seed: -1 }, 'seed', /got -1/);
  });
});

describe('choosing a token', () => {
  it('greedy takes the highest logit, the lowest id on a tie', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
    expect(() => argmax([1, Number.NaN])).toThrow(/NaN/);
  });

  it('top-p draws each nucleus token with its renormalised float64 probability', () => {
    const logits = [2, 0.5, 1.5, -1, 1.5, 0];
    const temperature = 0.8;
    const topP = 0.8;
    const weights = logits.map((l) => Math.exp(l / temperature));
    const total = weights.reduce((a, b) => a + b, 0);
    // The nucleus: most likely first (ties by lower id) until the mass reaches top-p.
    const order = weights.map((_, i) => i).sort((a, b) => weights[b] - weights[a] || a - b);
    const nucleus: number[] = [];
    let mass = 0;
    for (const i of order) {
      if (mass >= topP * total) break;
      nucleus.push(i);
      mass += weights[i];
    }
    const draws = 100_000;
    const counts = new Map<number, number>();
    for (let k = 0; k < draws; k++) {
      const id = sampleTopP(logits, temperature, topP, (k + 0.5) / draws);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([...nucleus].sort());
    for (const id of nucleus) {
      expect(Math.abs((counts.get(id) ?? 0) / draws - weights[id] / mass)).toBeLessThan(2 / draws);
    }
  });

  it('a seed gives the same tokens every time; another seed other tokens', () => {
    const logits = Array.from({ length: 50 }, (_, i) => Math.sin(i) * 2);
    const picks = (seed: number) => {
      const picker = new TokenPicker({ kind: 'sample', temperature: 1, topP: 0.95, seed });
      return Array.from({ length: 40 }, () => picker.pick(logits));
    };
    expect(picks(7)).toEqual(picks(7));
    expect(picks(8)).not.toEqual(picks(7));
  });
});

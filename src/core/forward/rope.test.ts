import { describe, expect, it } from 'vitest';
import { tinyLlamaConfig } from '../../../test/checkpoints';
import { describeArchitecture } from './architecture';
import { ropeFrequencies, ropeTable, UnsupportedRopeError } from './rope';

const dim = 128;
const theta = 500000;

describe('RoPE frequencies (transformers modeling_rope_utils semantics)', () => {
  it('default: θ^(−2i/d)', () => {
    const { inverse, attentionFactor } = ropeFrequencies({ theta, rotaryDim: dim, maxPositions: 2048 }, 10);
    expect(inverse.length).toBe(64);
    expect(inverse[0]).toBe(1);
    expect(inverse[1]).toBeCloseTo(theta ** (-2 / dim), 15);
    expect(inverse[63]).toBeCloseTo(theta ** (-126 / dim), 15);
    expect(attentionFactor).toBe(1);
  });

  it('linear: every frequency divided by the factor', () => {
    const base = ropeFrequencies({ theta, rotaryDim: dim, maxPositions: 2048 }, 10).inverse;
    const scaled = ropeFrequencies(
      { theta, rotaryDim: dim, maxPositions: 2048, scaling: { type: 'linear', factor: 4 } },
      10,
    ).inverse;
    for (const [i, f] of scaled.entries()) expect(f).toBeCloseTo(base[i] / 4, 15);
  });

  it('dynamic: the default up to max positions, then a larger base θ·(f·L/max − (f − 1))^(d/(d−2))', () => {
    const spec = { theta: 10000, rotaryDim: 8, maxPositions: 16, scaling: { type: 'dynamic', factor: 2 } };
    const plain = ropeFrequencies({ ...spec, scaling: undefined }, 16).inverse;
    expect(Array.from(ropeFrequencies(spec, 16).inverse)).toEqual(Array.from(plain));
    const base = 10000 * ((2 * 24) / 16 - 1) ** (8 / 6);
    const stretched = ropeFrequencies(spec, 24).inverse;
    expect(stretched[1]).toBeCloseTo(base ** (-2 / 8), 15);
    expect(stretched[0]).toBe(1);
  });

  it('llama3 (Llama 3.1: factor 8, low 1, high 4, 8192 positions): high frequencies kept, low ones divided by 8', () => {
    const scaling = {
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositions: 8192,
    };
    const base = ropeFrequencies({ theta, rotaryDim: dim, maxPositions: 131072 }, 10).inverse;
    const scaled = ropeFrequencies({ theta, rotaryDim: dim, maxPositions: 131072, scaling }, 10).inverse;
    let kept = 0;
    let divided = 0;
    let smoothed = 0;
    base.forEach((f, i) => {
      const wavelength = (2 * Math.PI) / f;
      if (wavelength < 8192 / 4) {
        expect(scaled[i]).toBe(f);
        kept++;
      } else if (wavelength > 8192) {
        expect(scaled[i]).toBeCloseTo(f / 8, 15);
        divided++;
      } else {
        // Between the two: s·f + (1 − s)·f/8 with s = (8192/λ − 1)/(4 − 1), strictly between f/8 and f.
        const s = (8192 / wavelength - 1) / 3;
        expect(scaled[i]).toBeCloseTo(s * f + ((1 - s) * f) / 8, 15);
        smoothed++;
      }
    });
    expect(kept).toBeGreaterThan(0);
    expect(divided).toBeGreaterThan(0);
    expect(smoothed).toBeGreaterThan(0);
  });

  it('yarn: high frequencies extrapolated, low ones interpolated, attention factor 0.1·ln(f) + 1', () => {
    const spec = { theta: 10000, rotaryDim: dim, maxPositions: 4096, scaling: { type: 'yarn', factor: 4 } };
    const { inverse, attentionFactor } = ropeFrequencies(spec, 10);
    const base = ropeFrequencies({ ...spec, scaling: undefined }, 10).inverse;
    expect(attentionFactor).toBeCloseTo(0.1 * Math.log(4) + 1, 15);
    // Correction range for beta_fast 32 / beta_slow 1: d·ln(L/(2π·r)) / (2 ln θ).
    const correction = (r: number) => (dim * Math.log(4096 / (r * 2 * Math.PI))) / (2 * Math.log(10000));
    const low = Math.floor(correction(32));
    const high = Math.ceil(correction(1));
    expect(inverse[0]).toBe(base[0]);
    expect(inverse[low]).toBeCloseTo(base[low], 15);
    expect(inverse[63]).toBeCloseTo(base[63] / 4, 15);
    const mid = Math.floor((low + high) / 2);
    const ramp = (mid - low) / (high - low);
    expect(inverse[mid]).toBeCloseTo((base[mid] / 4) * ramp + base[mid] * (1 - ramp), 15);
    const table = ropeTable(spec, 3);
    expect(Math.hypot(table[2 * 64 + 10], table[2 * 64 + 11])).toBeCloseTo(attentionFactor, 12);
  });

  it('tables start at the position offset', () => {
    const spec = { theta: 10000, rotaryDim: 6, maxPositions: 64 };
    const fromZero = ropeTable(spec, 8);
    const fromThree = ropeTable(spec, 5, 3);
    expect(Array.from(fromThree)).toEqual(Array.from(fromZero.subarray(3 * 3 * 2)));
  });

  it('rejects unsupported scaling types by name', () => {
    const config = tinyLlamaConfig({
      positional: {
        kind: 'rope',
        theta: 1e4,
        partialRotaryFactor: 1,
        scaling: { type: 'longrope', factor: 2 },
      },
    });
    expect(() => describeArchitecture(config)).toThrow(UnsupportedRopeError);
    expect(() => describeArchitecture(config)).toThrow(/"longrope" is not supported/);
  });
});

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

  it('longrope (Phi-4-mini: 131072 positions, 4096 original): short factors up to 4096 positions, long past them', () => {
    const shortFactor = [1, 1.5, 2, 3];
    const longFactor = [2, 4, 8, 16];
    const scaling = { type: 'longrope', factor: 32, originalMaxPositions: 4096, shortFactor, longFactor };
    const spec = { theta: 10000, rotaryDim: 8, maxPositions: 131072, scaling };
    const base = ropeFrequencies({ ...spec, scaling: undefined }, 10).inverse;
    // √(1 + ln 32 / ln 4096) = √(1 + 5/12): the paper's scaling, applied to short and long contexts alike.
    const expectedFactor = Math.sqrt(1 + 5 / 12);
    const short = ropeFrequencies(spec, 4096);
    const long = ropeFrequencies(spec, 4097);
    for (let i = 0; i < 4; i++) {
      expect(short.inverse[i]).toBeCloseTo(base[i] / shortFactor[i], 15);
      expect(long.inverse[i]).toBeCloseTo(base[i] / longFactor[i], 15);
    }
    expect(short.attentionFactor).toBeCloseTo(expectedFactor, 14);
    expect(long.attentionFactor).toBeCloseTo(expectedFactor, 14);
    // An explicit attention_factor wins; factor ≤ 1 means none.
    expect(
      ropeFrequencies({ ...spec, scaling: { ...scaling, attentionFactor: 1.25 } }, 10).attentionFactor,
    ).toBe(1.25);
    expect(ropeFrequencies({ ...spec, scaling: { ...scaling, factor: 1 } }, 10).attentionFactor).toBe(1);
    // Unit short factors and no scaling reduce to the default table.
    const plain = { ...scaling, factor: 1, shortFactor: [1, 1, 1, 1] };
    expect(Array.from(ropeTable({ ...spec, scaling: plain }, 5))).toEqual(
      Array.from(ropeTable({ ...spec, scaling: undefined }, 5)),
    );
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
        scaling: { type: 'proportional', factor: 2 },
      },
    });
    expect(() => describeArchitecture(config)).toThrow(UnsupportedRopeError);
    expect(() => describeArchitecture(config)).toThrow(/"proportional" is not supported/);
  });
});

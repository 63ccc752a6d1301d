import { describe, expect, it } from 'vitest';
import { CalibrationError, drawCalibrationWindows } from './calibration';

const tokens = Array.from({ length: 1000 }, (_, i) => i);

describe('calibration windows', () => {
  it('draws nsamples windows of seqlen consecutive tokens, reproducibly', () => {
    const a = drawCalibrationWindows(tokens, { nsamples: 8, seqlen: 64, seed: 3 }, 512);
    const b = drawCalibrationWindows(tokens, { nsamples: 8, seqlen: 64, seed: 3 }, 512);
    expect(a.ids).toEqual(b.ids);
    expect(a.notes).toEqual([]);
    for (let s = 0; s < 8; s++) {
      const row = a.ids.subarray(s * 64, (s + 1) * 64);
      for (let t = 1; t < 64; t++) expect(row[t]).toBe(row[t - 1] + 1);
      expect(row[63]).toBeLessThan(1000);
    }
    const c = drawCalibrationWindows(tokens, { nsamples: 8, seqlen: 64, seed: 4 }, 512);
    expect(c.ids).not.toEqual(a.ids);
  });

  it('says so when the text is too short and uses what there is', () => {
    const short = drawCalibrationWindows(tokens.slice(0, 40), { nsamples: 4, seqlen: 64 }, 512);
    expect(short).toMatchObject({ nsamples: 1, seqlen: 40 });
    expect(short.notes[0]).toMatch(/only 40 tokens.*1 sample of 40/);
    const overlapping = drawCalibrationWindows(tokens, { nsamples: 128, seqlen: 64 }, 512);
    expect(overlapping.notes[0]).toMatch(/enough for 15 non-overlapping samples/);
  });

  it('rejects empty text and impossible settings with specific messages', () => {
    expect(() => drawCalibrationWindows([], { nsamples: 1, seqlen: 8 }, 512)).toThrow(CalibrationError);
    expect(() => drawCalibrationWindows([5], { nsamples: 1, seqlen: 8 }, 512)).toThrow(/empty or too short/);
    expect(() => drawCalibrationWindows(tokens, { nsamples: 0, seqlen: 8 }, 512)).toThrow(/samples/);
    expect(() => drawCalibrationWindows(tokens, { nsamples: 2, seqlen: 1024 }, 512)).toThrow(/512 positions/);
  });
});

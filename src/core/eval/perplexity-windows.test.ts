import { describe, expect, it } from 'vitest';
import { evaluationWindows, nextTokenTargets, perplexityFromNll } from './perplexity-windows';

describe('perplexity protocol', () => {
  it('cuts non-overlapping windows and drops the remainder', () => {
    const tokens = Array.from({ length: 1911 }, (_, i) => i);
    const w = evaluationWindows(tokens, 512);
    expect(w).toMatchObject({ windows: 3, seqlen: 512, droppedTokens: 1911 - 1536 });
    expect(w.ids[512]).toBe(512);
  });

  it('predicts the next token within a window only', () => {
    const targets = nextTokenTargets(Int32Array.from([10, 11, 12, 20, 21, 22]), 3);
    expect(Array.from(targets)).toEqual([11, 12, -1, 21, 22, -1]);
    const { meanNll, perplexity } = perplexityFromNll([1, 2, 99, 3, 4, 99], targets);
    expect(meanNll).toBeCloseTo(2.5, 12);
    expect(perplexity).toBeCloseTo(Math.exp(2.5), 10);
  });

  it('scores a short text as one window and rejects one that is too short', () => {
    expect(evaluationWindows([1, 2, 3], 512)).toMatchObject({ windows: 1, seqlen: 3 });
    expect(() => evaluationWindows([1], 512)).toThrow(/too short/);
  });
});

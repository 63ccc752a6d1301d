import { describe, expect, it } from 'vitest';
import {
  describeNM,
  describeSettings,
  errorMessage,
  formatBytes,
  formatCount,
  formatDuration,
  formatError,
  formatPerplexity,
  formatPerplexityChange,
  formatScientific,
  outputFolderName,
  safeFileName,
} from './format';

describe('formatters', () => {
  it('says sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1_045_088)).toBe('1021 KiB');
    expect(formatBytes(13.5 * 2 ** 30)).toBe('13.5 GiB');
  });

  it('says parameter counts the way model cards do', () => {
    expect(formatCount(260_032)).toBe('260K');
    expect(formatCount(6_738_415_616)).toBe('6.74B');
    expect(formatCount(124_439_808)).toBe('124M');
    expect(formatCount(999)).toBe('999');
  });

  it('says durations in words a person reads at a glance', () => {
    expect(formatDuration(0.25)).toBe('250 ms');
    expect(formatDuration(4.25)).toBe('4.3 s');
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(125)).toBe('2 min 05 s');
    expect(formatDuration(3 * 3600 + 7 * 60)).toBe('3 h 07 min');
    expect(formatDuration(Number.NaN)).toBe('—');
  });

  it('shows relative errors in scientific notation', () => {
    expect(formatError(0.012345)).toBe('1.23e-2');
    expect(formatError(0)).toBe('0');
    expect(formatError(Number.POSITIVE_INFINITY)).toBe('—');
  });

  it('keeps huge perplexities readable', () => {
    expect(formatPerplexity(12.3456)).toBe('12.35');
    expect(formatPerplexity(1378.4)).toBe('1,378');
    expect(formatPerplexity(45_678.2)).toBe('45,678');
    expect(formatPerplexity(1_378_220)).toBe('1.38 × 10⁶');
    expect(formatPerplexity(9.996e9)).toBe('1.00 × 10¹⁰');
    expect(formatPerplexity(undefined)).toBe('—');
    expect(formatScientific(0.000123)).toBe('1.23 × 10⁻⁴');
  });

  it('says a small change in percent and a big one as a factor', () => {
    expect(formatPerplexityChange(10, 11.234)).toBe('+12.3%');
    expect(formatPerplexityChange(10, 9.5)).toBe('−5.0%');
    expect(formatPerplexityChange(10, 24.68)).toBe('×2.47');
    // The walkthrough's demo at 95%: 1378220 against a dense 4.43 was shown as "+31137244.6%".
    expect(formatPerplexityChange(4.4263, 1_378_220)).toBe('×311,000');
    expect(formatPerplexityChange(1, 2.5e9)).toBe('×2.50 × 10⁹');
    expect(formatPerplexityChange(0, 5)).toBe('—');
  });

  it('says N:M in both conventions', () => {
    expect(describeNM(2, 4)).toBe('2:4 = 2 zeros in every 4 weights, 2 kept (2:4 counting kept weights)');
    expect(describeNM(1, 4)).toBe('1:4 = 1 zero in every 4 weights, 3 kept (3:4 counting kept weights)');
  });

  it('describes settings', () => {
    expect(describeSettings({ method: 'sparsegpt', pattern: { n: 2, m: 4 }, sparsity: 0.5 })).toBe(
      'SparseGPT · 2:4',
    );
    expect(describeSettings({ method: 'wanda', pattern: 'unstructured', sparsity: 0.6 })).toBe(
      'Wanda · 60% unstructured',
    );
  });
});

describe('output folder names', () => {
  it('say the input and the settings', () => {
    expect(
      outputFolderName('stories260K', { method: 'sparsegpt', pattern: 'unstructured', sparsity: 0.5 }),
    ).toBe('stories260K-sparsegpt-50pct');
    expect(
      outputFolderName('stories260K', { method: 'sparsegpt', pattern: { n: 2, m: 4 }, sparsity: 0.5 }),
    ).toBe('stories260K-sparsegpt-2of4');
    expect(
      outputFolderName('Llama-3.2-1B', { method: 'wanda', pattern: 'unstructured', sparsity: 0.625 }),
    ).toBe('Llama-3.2-1B-wanda-62p5pct');
  });

  it('are safe on every file system', () => {
    expect(safeFileName('meta-llama/Llama: 3?')).toBe('meta-llama-Llama- 3-');
    expect(safeFileName('..hidden')).toBe('hidden');
    expect(safeFileName('a\u0001b')).toBe('ab');
    expect(outputFolderName('', { method: 'magnitude', pattern: 'unstructured', sparsity: 0.3 })).toBe(
      'model-magnitude-30pct',
    );
  });
});

describe('error messages', () => {
  it('come from errors, strings and error-like objects that crossed the worker boundary', () => {
    expect(errorMessage(new Error('bad config'))).toBe('bad config');
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage({ message: 'cloned' })).toBe('cloned');
    expect(errorMessage(42)).toMatch(/went wrong/);
  });
});

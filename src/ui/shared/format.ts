/** Plain-language numbers for the page: sizes, counts, durations, errors. Pure functions, unit-tested. */
import type { PruneMethod, PruneSettings, SparsityPattern } from '../../core/pipeline/types';

/** Sizes on the page, in binary units (the one byte formatter is the core's). */
export { formatBytes, formatFileSize } from '../../core/format-bytes';

/** 260032 → "260K", 6738415616 → "6.74B": how model sizes are usually said. */
export function formatCount(count: number): string {
  if (!Number.isFinite(count)) return '?';
  const steps: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [size, suffix] of steps) {
    if (count >= size) {
      const value = count / size;
      const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
      return `${Number(value.toFixed(digits))}${suffix}`;
    }
  }
  return String(Math.round(count));
}

export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 1) return `${Math.max(0, Math.round(seconds * 1000))} ms`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.round(seconds % 60)).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

export function formatMs(ms: number): string {
  return formatDuration(ms / 1000);
}

export function formatPercent(fraction: number, digits = 1): string {
  if (!Number.isFinite(fraction)) return '—';
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** Relative errors span many decades (1e-6 … 1), so they are shown in scientific notation. */
export function formatError(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value === 0) return '0';
  return value.toExponential(2);
}

const SUPERSCRIPT_DIGITS = '⁰¹²³⁴⁵⁶⁷⁸⁹';

/** 1378220 → "1.38 × 10⁶": three significant digits and a power of ten that reads at a glance. */
export function formatScientific(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return '—';
  if (value === 0) return '0';
  const [mantissa, exponent] = value.toExponential(digits - 1).split('e');
  const power = Number(exponent);
  const superscript = String(Math.abs(power))
    .split('')
    .map((d) => SUPERSCRIPT_DIGITS[Number(d)])
    .join('');
  return `${mantissa} × 10${power < 0 ? '⁻' : ''}${superscript}`;
}

/**
 * Perplexities run from about 1 to the millions a broken model reaches: two decimals while small, whole numbers
 * with separators up to 100,000, then a power of ten.
 */
export function formatPerplexity(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  if (value < 1000) return value.toFixed(2);
  if (value < 100_000) return formatInteger(value);
  return formatScientific(value);
}

/**
 * Pruned perplexity against dense: "+12.3%" while it is less than doubled, then a factor ("×2.47", "×311,000",
 * "×1.38 × 10⁹"), which is how a person compares numbers that far apart.
 */
export function formatPerplexityChange(dense: number, pruned: number): string {
  const ratio = pruned / dense;
  if (!Number.isFinite(ratio) || ratio <= 0) return '—';
  if (ratio < 2) {
    const percent = (ratio - 1) * 100;
    return `${percent >= 0 ? '+' : '−'}${Math.abs(percent).toFixed(1)}%`;
  }
  if (ratio >= 1e7) return `×${formatScientific(ratio)}`;
  return `×${Number(ratio.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 2 })}`;
}

export const METHOD_LABELS: Record<PruneMethod, string> = {
  sparsegpt: 'SparseGPT',
  wanda: 'Wanda',
  magnitude: 'Magnitude',
};

export function describePattern(pattern: SparsityPattern, sparsity: number): string {
  return pattern === 'unstructured'
    ? `${formatPercent(sparsity, 0)} unstructured`
    : `${pattern.n}:${pattern.m}`;
}

/**
 * "3:8 = 3 zeros in every 8 weights, 5 kept (5:8 counting kept weights)": this app's N:M counts zeros, as
 * SparseGPT does; NVIDIA's sparse tensor cores count the weights kept. Both readings, so neither is misread.
 */
export function describeNM(n: number, m: number): string {
  const zeros = `${n} zero${n === 1 ? '' : 's'}`;
  return `${n}:${m} = ${zeros} in every ${m} weights, ${m - n} kept (${m - n}:${m} counting kept weights)`;
}

/** "SparseGPT · 2:4" or "Wanda · 60% unstructured". */
export function describeSettings(settings: Pick<PruneSettings, 'method' | 'pattern' | 'sparsity'>): string {
  return `${METHOD_LABELS[settings.method]} · ${describePattern(settings.pattern, settings.sparsity)}`;
}

/**
 * The folder name of a pruned model: the input's name and the settings, safe on every file system,
 * e.g. "stories260K-sparsegpt-50pct" or "Llama-3.2-1B-wanda-2of4".
 */
export function outputFolderName(
  modelName: string,
  settings: Pick<PruneSettings, 'method' | 'pattern' | 'sparsity'> &
    Partial<Pick<PruneSettings, 'quantization' | 'quantMethod'>>,
): string {
  const base = safeFileName(modelName) || 'model';
  const amount =
    settings.pattern === 'unstructured'
      ? `${Number((settings.sparsity * 100).toFixed(1))}pct`.replace('.', 'p')
      : `${settings.pattern.n}of${settings.pattern.m}`;
  const quantized =
    settings.quantization && settings.quantization !== 'none'
      ? `-${settings.quantMethod ?? 'gptq'}-${settings.quantization}`
      : '';
  return `${base}-${settings.method}-${amount}${quantized}`;
}

export function safeFileName(name: string): string {
  const printable = Array.from(name)
    .filter((c) => c.charCodeAt(0) >= 32)
    .join('');
  return printable
    .trim()
    .replace(/[\\/:*?"<>|]+/g, '-')
    .replace(/^\.+/, '')
    .replace(/-{2,}/g, '-')
    .slice(0, 120);
}

/** A message a person can read from anything thrown, including errors that crossed the worker boundary. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') {
    return error.message;
  }
  return 'Something went wrong (no details were given).';
}

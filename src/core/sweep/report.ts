/**
 * A sweep's finished points as files: CSV (one row per point, for a spreadsheet or a plotting script) and JSON
 * (the points with what they were measured under). The app's export buttons and the CLI's --csv and --json write
 * these same bytes.
 */
import type { PruneSettings } from '../settings/prune-settings';
import type { SweepResult } from './sweep';

export const CSV_COLUMNS = [
  'method',
  'pattern',
  'target_sparsity',
  'sparsity_pruned_layers',
  'sparsity_all_linears',
  'dense_perplexity',
  'pruned_perplexity',
  'seconds',
] as const;

/** Enough digits to tell runs apart; no float noise. */
const number = (value: number | undefined) =>
  value === undefined ? '' : String(Number(value.toPrecision(8)));

export function sweepCsv(results: readonly SweepResult[], densePerplexity?: number): string {
  const rows = results.map((r) =>
    [
      r.point.method,
      r.point.pattern === 'unstructured' ? 'unstructured' : r.point.label,
      number(r.point.sparsity),
      number(r.sparsityOfPrunedLayers),
      number(r.sparsityOfAllLinears),
      number(r.densePerplexity ?? densePerplexity),
      number(r.prunedPerplexity),
      number(r.seconds),
    ].join(','),
  );
  return `${[CSV_COLUMNS.join(','), ...rows].join('\n')}\n`;
}

export interface SweepRecord {
  model: string;
  /** The settings every point shares (its method, pattern and sparsity are the point's). */
  settings: PruneSettings;
  calibration?: { nsamples: number; seqlen: number; textTokens?: number };
  densePerplexity?: number;
  /** True when the sweep was stopped before its last point. */
  stopped: boolean;
  points: SweepResult[];
}

export function sweepJson(record: SweepRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/**
 * A sweep's points as uPlot's aligned columns: the x values (target sparsities) and one series per method (and per
 * method and N:M pattern, drawn as points only: an N:M point is not on the unstructured curve), null where a
 * series has no point.
 */
import type { PruneMethod } from '../../../core/settings/prune-settings';
import type { SweepResult } from '../../../core/sweep/sweep';

export interface ChartSeries {
  method: PruneMethod;
  /** "unstructured", or the pattern's label ("2:4"). */
  pattern: string;
  values: Array<number | null>;
}

export function sweepChartData(results: readonly SweepResult[]): { xs: number[]; series: ChartSeries[] } {
  const xs = [...new Set(results.map((r) => r.point.sparsity))].sort((a, b) => a - b);
  const series: ChartSeries[] = [];
  for (const result of results) {
    const pattern = result.point.pattern === 'unstructured' ? 'unstructured' : result.point.label;
    let line = series.find((s) => s.method === result.point.method && s.pattern === pattern);
    if (!line) {
      line = { method: result.point.method, pattern, values: xs.map(() => null) };
      series.push(line);
    }
    line.values[xs.indexOf(result.point.sparsity)] = result.prunedPerplexity;
  }
  return { xs, series };
}

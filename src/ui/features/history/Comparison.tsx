import type { RunRecord } from '../../../store/history';
import { sparsityOfAllLinears } from '../../../store/run';
import {
  describeSettings,
  formatError,
  formatMs,
  formatPercent,
  formatPerplexity,
} from '../../shared/format';
import { type Better, bestOf } from './compare';

export function when(time: number): string {
  return new Date(time).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Side by side: settings, perplexities, and each layer's error in each run (lowest marked). */
export function Comparison({ runs }: { runs: RunRecord[] }) {
  const tensors = [...new Set(runs.flatMap((r) => r.layers.map((l) => l.tensor)))];
  const errorOf = (run: RunRecord, tensor: string) => run.layers.find((l) => l.tensor === tensor);
  const row = (
    label: string,
    values: Array<number | undefined>,
    format: (v: number | undefined) => string,
    better: Better = 'lower',
  ) => {
    const best = bestOf(values, better);
    return (
      <tr key={label}>
        <th scope="row">{label}</th>
        {values.map((v, i) => (
          <td key={runs[i].id} className={`num${best.has(i) ? ' best' : ''}`}>
            {format(v)}
            {best.has(i) && <span className="visually-hidden"> (best)</span>}
          </td>
        ))}
      </tr>
    );
  };
  const percent = (v: number | undefined) => (v === undefined ? '—' : formatPercent(v));
  return (
    <div className="table-scroll compare">
      <table>
        <caption>
          Comparison of {runs.length} runs (where they differ, the lowest pruned perplexity, time and error
          are marked best)
        </caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            {runs.map((r) => (
              <th key={r.id} scope="col">
                {describeSettings(r.settings)}
                <div className="muted small">{when(r.createdAt)}</div>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {row(
            'Dense perplexity',
            runs.map((r) => r.densePerplexity),
            formatPerplexity,
            'none',
          )}
          {row(
            'Pruned perplexity',
            runs.map((r) => r.prunedPerplexity),
            formatPerplexity,
          )}
          {row(
            'Sparsity of pruned layers',
            runs.map((r) => r.overallSparsity),
            percent,
            'none',
          )}
          {row(
            'Sparsity of all linears',
            runs.map((r) => sparsityOfAllLinears(r.layers)),
            percent,
            'none',
          )}
          {row(
            'Time',
            runs.map((r) => r.totalMs),
            (v) => (v === undefined ? '—' : formatMs(v)),
          )}
          {tensors.map((tensor) => {
            const layer = runs.map((r) => errorOf(r, tensor)).find(Boolean);
            return row(
              layer ? `${layer.block} · ${layer.name}` : tensor,
              runs.map((r) => {
                const l = errorOf(r, tensor);
                return l && !l.skipped ? l.relativeError : undefined;
              }),
              (v) => (v === undefined ? '—' : formatError(v)),
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

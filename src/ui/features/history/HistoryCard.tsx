import { COMPARE_LIMIT, type RunRecord, useHistoryStore } from '../../../store/history';
import {
  describeSettings,
  formatError,
  formatMs,
  formatPercent,
  formatPerplexity,
} from '../../shared/format';
import { LayerTable } from '../../shared/LayerTable';
import { SaveButton } from '../output/SaveButton';
import { removeHistoryOutput, removeHistoryRun } from './actions';

function when(time: number): string {
  return new Date(time).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function RunItem({ record, comparing }: { record: RunRecord; comparing: boolean }) {
  const toggleCompare = useHistoryStore((s) => s.toggleCompare);
  const s = record.settings;
  return (
    <li className="history-item">
      <div className="history-head">
        <div>
          <strong>{record.modelName}</strong> <span className="badge">{describeSettings(s)}</span>
          <div className="muted small">
            {when(record.createdAt)} · {formatPercent(record.overallSparsity)} zeros ·{' '}
            {formatMs(record.totalMs)}
            {record.calibration
              ? ` · ${record.calibration.nsamples}×${record.calibration.seqlen} tokens`
              : ''}
          </div>
        </div>
        <div className="history-ppl">
          <span title="Perplexity dense → pruned">
            ppl {formatPerplexity(record.densePerplexity)} →{' '}
            <strong>{formatPerplexity(record.prunedPerplexity)}</strong>
          </span>
        </div>
      </div>
      <div className="actions small">
        <button
          type="button"
          aria-pressed={comparing}
          onClick={() => toggleCompare(record.id)}
          aria-label={`Compare the run of ${when(record.createdAt)}`}
        >
          {comparing ? 'Comparing' : 'Compare'}
        </button>
        {record.outputKept ? (
          <>
            <SaveButton
              runFolder={record.outputFolder}
              downloadName={record.downloadName}
              label="Save files"
            />
            <button type="button" className="quiet" onClick={() => void removeHistoryOutput(record)}>
              Free storage
            </button>
          </>
        ) : (
          <span className="muted small">Files removed from browser storage</span>
        )}
        <button
          type="button"
          className="quiet"
          aria-label={`Delete the run of ${when(record.createdAt)} from history`}
          onClick={() => void removeHistoryRun(record)}
        >
          Delete
        </button>
      </div>
      <details>
        <summary>Per-layer table ({record.layers.length} layers)</summary>
        <LayerTable layers={record.layers} caption={`Layers of the run of ${when(record.createdAt)}`} />
      </details>
    </li>
  );
}

/** Side by side: settings, perplexities, and each layer's error in each run (lowest marked). */
function Comparison({ runs }: { runs: RunRecord[] }) {
  const tensors = [...new Set(runs.flatMap((r) => r.layers.map((l) => l.tensor)))];
  const errorOf = (run: RunRecord, tensor: string) => run.layers.find((l) => l.tensor === tensor);
  const best = (values: Array<number | undefined>) => {
    const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
    return finite.length > 1 ? Math.min(...finite) : undefined;
  };
  const row = (
    label: string,
    values: Array<number | undefined>,
    format: (v: number | undefined) => string,
  ) => {
    const lowest = best(values);
    return (
      <tr key={label}>
        <th scope="row">{label}</th>
        {values.map((v, i) => (
          <td key={runs[i].id} className={`num${v !== undefined && v === lowest ? ' best' : ''}`}>
            {format(v)}
          </td>
        ))}
      </tr>
    );
  };
  return (
    <div className="table-scroll compare">
      <table>
        <caption>Comparison of {runs.length} runs (lowest error and perplexity highlighted)</caption>
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
          )}
          {row(
            'Pruned perplexity',
            runs.map((r) => r.prunedPerplexity),
            formatPerplexity,
          )}
          {row(
            'Sparsity',
            runs.map((r) => r.overallSparsity),
            (v) => (v === undefined ? '—' : formatPercent(v)),
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

export function HistoryCard() {
  const runs = useHistoryStore((s) => s.runs);
  const compare = useHistoryStore((s) => s.compare);
  const loaded = useHistoryStore((s) => s.loaded);
  if (!loaded && runs.length === 0) return null;
  const compared = compare
    .map((id) => runs.find((r) => r.id === id))
    .filter((r): r is RunRecord => Boolean(r));
  return (
    <section className="card history" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {runs.length === 0 ? (
        <p className="muted">Finished runs appear here, kept across reloads, so settings can be compared.</p>
      ) : (
        <>
          <p className="hint">
            Pick up to {COMPARE_LIMIT} runs with Compare to see them side by side. The pruned files of the
            latest runs stay in this browser's storage until you save or free them.
          </p>
          {compared.length >= 2 && <Comparison runs={compared} />}
          {compared.length === 1 && <p className="muted">Pick one more run to compare.</p>}
          <ul className="history-list" aria-label="Past runs">
            {runs.map((record) => (
              <RunItem key={record.id} record={record} comparing={compare.includes(record.id)} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

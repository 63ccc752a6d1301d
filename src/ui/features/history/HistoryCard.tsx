import { COMPARE_LIMIT, type RunRecord, useHistoryStore } from '../../../store/history';
import { sparsityOfAllLinears } from '../../../store/run';
import { describeSettings, formatMs, formatPercent, formatPerplexity } from '../../shared/format';
import { LayerTable } from '../../shared/LayerTable';
import { generateFromRecord } from '../generate/actions';
import { SaveButton } from '../output/SaveButton';
import { removeHistoryOutput, removeHistoryRun } from './actions';
import { Comparison, when } from './Comparison';

function RunItem({ record, comparing }: { record: RunRecord; comparing: boolean }) {
  const toggleCompare = useHistoryStore((s) => s.toggleCompare);
  const s = record.settings;
  return (
    <li className="history-item">
      <div className="history-head">
        <div>
          <strong>{record.modelName}</strong> <span className="badge">{describeSettings(s)}</span>
          <div className="muted small">
            {when(record.createdAt)} · {formatPercent(record.overallSparsity)} zeros in pruned layers,{' '}
            {formatPercent(sparsityOfAllLinears(record.layers))} of all linears · {formatMs(record.totalMs)}
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
              label={record.settings.format === 'gguf' ? 'Save .gguf' : 'Save files'}
              singleFile={record.settings.format === 'gguf'}
            />
            <button
              type="button"
              onClick={() => generateFromRecord(record)}
              aria-label={`Generate with the pruned model of ${when(record.createdAt)}`}
            >
              Generate
            </button>
            <button type="button" className="quiet" onClick={() => void removeHistoryOutput(record)}>
              Free storage
            </button>
          </>
        ) : (
          <span className="muted small">
            {record.outputFiles.length === 0
              ? 'A sweep point: no files written'
              : 'Files removed from browser storage'}
          </span>
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

/**
 * Sweep: methods × sparsities (and N:M patterns), each point a whole run on the open model, charted as perplexity
 * against sparsity with a table and CSV / JSON / PNG exports. The points run through the run card like Prune
 * (progress, Cancel) and each lands in history.
 */
import { useRef, useState } from 'react';
import { PRUNE_METHODS, type PruneMethod } from '../../../core/settings/prune-settings';
import { sweepCsv, sweepJson } from '../../../core/sweep/report';
import { useModelStore } from '../../../store/model';
import { useRunStore } from '../../../store/run';
import { useSettingsStore } from '../../../store/settings';
import { sweepBusy, useSweepStore } from '../../../store/sweep';
import { useTextsStore } from '../../../store/texts';
import {
  errorMessage,
  formatMs,
  formatPercent,
  formatPerplexity,
  METHOD_LABELS,
  safeFileName,
} from '../../shared/format';
import { triggerDownload } from '../output/save';
import { cancelSweep, startSweep, sweepBlockers } from './actions';
import type { SweepForm } from './request';
import { chartPng, SweepChart } from './SweepChart';

function MethodChoices({ form, setForm }: { form: SweepForm; setForm(form: SweepForm): void }) {
  const toggle = (method: PruneMethod, on: boolean) =>
    setForm({
      ...form,
      methods: PRUNE_METHODS.filter((m) => (m === method ? on : form.methods.includes(m))),
    });
  return (
    <fieldset className="sweep-methods">
      <legend>Methods</legend>
      {PRUNE_METHODS.map((method) => (
        <label key={method}>
          <input
            type="checkbox"
            checked={form.methods.includes(method)}
            onChange={(e) => toggle(method, e.target.checked)}
          />{' '}
          {METHOD_LABELS[method]}
        </label>
      ))}
    </fieldset>
  );
}

function SweepTable() {
  const results = useSweepStore((s) => s.results);
  return (
    <table className="layer-table sweep-table">
      <caption>Sweep points</caption>
      <thead>
        <tr>
          <th scope="col">Method</th>
          <th scope="col">Pattern</th>
          <th scope="col">Zeros in pruned layers</th>
          <th scope="col">Of all linears</th>
          <th scope="col">Perplexity</th>
          <th scope="col">Time</th>
        </tr>
      </thead>
      <tbody>
        {results.map((r) => (
          <tr key={`${r.point.method}-${r.point.label}`}>
            <td>{METHOD_LABELS[r.point.method]}</td>
            <td>{r.point.label}</td>
            <td>{formatPercent(r.sparsityOfPrunedLayers)}</td>
            <td>{formatPercent(r.sparsityOfAllLinears)}</td>
            <td>{formatPerplexity(r.prunedPerplexity)}</td>
            <td>{formatMs(r.seconds * 1000)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Exports({ plot }: { plot: React.RefObject<HTMLDivElement | null> }) {
  const sweep = useSweepStore();
  const name = safeFileName(`${sweep.modelName ?? 'model'}-sweep`);
  const dense = sweep.results.find((r) => r.densePerplexity !== undefined)?.densePerplexity;
  const exportCsv = () =>
    triggerDownload(new Blob([sweepCsv(sweep.results, dense)], { type: 'text/csv' }), `${name}.csv`);
  const exportJson = () => {
    if (!sweep.settings) return;
    const record = {
      model: sweep.modelName ?? 'model',
      settings: sweep.settings,
      calibration: sweep.calibration,
      densePerplexity: dense,
      stopped: sweep.phase === 'stopped',
      points: sweep.results,
    };
    triggerDownload(new Blob([sweepJson(record)], { type: 'application/json' }), `${name}.json`);
  };
  const exportPng = async () => {
    const png = plot.current && (await chartPng(plot.current));
    if (png) triggerDownload(png, `${name}.png`);
  };
  return (
    <div className="actions small">
      <button type="button" onClick={exportCsv}>
        Export CSV
      </button>
      <button type="button" onClick={exportJson}>
        Export JSON
      </button>
      <button type="button" onClick={() => void exportPng()}>
        Save chart as PNG
      </button>
    </div>
  );
}

function SweepStatus() {
  const sweep = useSweepStore();
  const point = sweep.current === undefined ? undefined : sweep.points[sweep.current];
  if (sweep.phase === 'idle') return null;
  const done = `${sweep.results.length} of ${sweep.points.length} points finished`;
  const text =
    sweep.phase === 'running' && point
      ? `Point ${(sweep.current ?? 0) + 1} of ${sweep.points.length}: ${METHOD_LABELS[point.method]} ${point.label}…`
      : sweep.phase === 'stopping'
        ? 'Stopping the sweep…'
        : sweep.phase === 'stopped'
          ? `Sweep stopped: ${done}.`
          : sweep.phase === 'failed'
            ? `Sweep failed at ${sweep.error}. ${done}.`
            : `Sweep done: ${done}.`;
  return (
    <p className={sweep.phase === 'failed' ? 'error' : 'muted'} data-testid="sweep-status" role="status">
      {text}
    </p>
  );
}

export function SweepCard() {
  const [form, setForm] = useState<SweepForm>({
    methods: ['sparsegpt', 'wanda', 'magnitude'],
    sparsities: '30, 50, 70',
    patterns: '',
  });
  const [error, setError] = useState<string>();
  const plot = useRef<HTMLDivElement>(null);
  const sweep = useSweepStore();
  // Re-render when what the blockers read changes.
  useModelStore((s) => s.status);
  useTextsStore((s) => s.evaluation.text);
  useSettingsStore((s) => s.settings);
  const runPhase = useRunStore((s) => s.view.phase);
  const busy = sweepBusy(sweep.phase);
  const blockers = busy ? [] : sweepBlockers(form);
  const dense = sweep.results.find((r) => r.densePerplexity !== undefined)?.densePerplexity;
  const start = () => {
    setError(undefined);
    startSweep(form).catch((e) => setError(errorMessage(e)));
  };
  return (
    <section className="card sweep" aria-labelledby="sweep-title">
      <h2 id="sweep-title">Sweep</h2>
      <p className="muted small">
        Prunes the model once per method and sparsity with the settings above (each a whole run, no files
        written) and plots perplexity against sparsity. Every point also lands in history.
      </p>
      <div className="sweep-form">
        <MethodChoices form={form} setForm={setForm} />
        <label>
          Sparsities (%)
          <input
            type="text"
            value={form.sparsities}
            disabled={busy}
            onChange={(e) => setForm({ ...form, sparsities: e.target.value })}
          />
        </label>
        <label>
          N:M patterns
          <input
            type="text"
            value={form.patterns}
            placeholder="e.g. 2:4, 4:8"
            disabled={busy}
            onChange={(e) => setForm({ ...form, patterns: e.target.value })}
          />
        </label>
      </div>
      {blockers.length > 0 && (
        <ul className="problems" data-testid="sweep-problems">
          {blockers.map((b) => (
            <li key={b}>{b}</li>
          ))}
        </ul>
      )}
      <div className="actions">
        {busy ? (
          <button type="button" onClick={cancelSweep} disabled={sweep.phase === 'stopping'}>
            Cancel sweep
          </button>
        ) : (
          <button
            type="button"
            className="primary"
            onClick={start}
            disabled={blockers.length > 0 || runPhase === 'running' || runPhase === 'cancelling'}
          >
            Run sweep
          </button>
        )}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <SweepStatus />
      {sweep.results.length > 0 && (
        <>
          <SweepChart results={sweep.results} densePerplexity={dense} plotRef={plot} />
          <SweepTable />
          <Exports plot={plot} />
        </>
      )}
    </section>
  );
}

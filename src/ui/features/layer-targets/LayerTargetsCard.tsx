/**
 * Sparsity per layer for the next run: how the run's sparsity is spread over the blocks (uniform, or OWL with its
 * range shown before the run), and a table of per-layer targets the user edits (or fills from the layer
 * explorer). The core's validator says what is wrong with them in the settings card; entries that reach no linear
 * of the open model are named here.
 */
import { useId } from 'react';
import { type LayerTarget, OWL_DEFAULTS } from '../../../core/settings/prune-settings';
import { readySummary, useModelStore } from '../../../store/model';
import { useRunStore } from '../../../store/run';
import { useSettingsStore } from '../../../store/settings';
import { formatPercent } from '../../shared/format';
import { NumberField } from '../../shared/NumberField';
import { matchCount, NO_TARGETS, owlRange } from './targets';

function TargetRow({
  target,
  index,
  matches,
  disabled,
  onChange,
  onRemove,
}: {
  target: LayerTarget;
  index: number;
  matches: number | undefined;
  disabled: boolean;
  onChange(target: LayerTarget): void;
  onRemove(): void;
}) {
  const percent = Number.isFinite(target.sparsity) ? Number((target.sparsity * 100).toFixed(2)) : '';
  return (
    <tr>
      <td>
        <input
          type="text"
          aria-label={`Layers of target ${index + 1}`}
          value={target.layers}
          disabled={disabled}
          onChange={(e) => onChange({ ...target, layers: e.currentTarget.value })}
        />
      </td>
      <td>
        <input
          type="number"
          aria-label={`Sparsity of target ${index + 1} (%)`}
          min={0}
          max={99}
          step={1}
          value={percent}
          disabled={disabled}
          onChange={(e) => {
            const raw = e.currentTarget.value;
            onChange({ ...target, sparsity: raw === '' ? Number.NaN : Number(raw) / 100 });
          }}
        />
      </td>
      <td className={matches === 0 ? 'problem-inline' : 'muted'}>
        {matches === undefined
          ? ''
          : matches === 0
            ? 'matches no layer'
            : `${matches} linear${matches === 1 ? '' : 's'}`}
      </td>
      <td>
        <button
          type="button"
          className="quiet"
          disabled={disabled}
          aria-label={`Remove target ${index + 1}`}
          onClick={onRemove}
        >
          Remove
        </button>
      </td>
    </tr>
  );
}

function AllocationFields({ disabled }: { disabled: boolean }) {
  const id = useId();
  const settings = useSettingsStore((s) => s.settings);
  const update = useSettingsStore((s) => s.update);
  const owl = settings.allocation === 'owl';
  const range = owlRange(settings);
  return (
    <>
      <div className="field">
        <label htmlFor={id}>Allocation over blocks</label>
        <select
          id={id}
          value={settings.allocation ?? 'uniform'}
          disabled={disabled}
          onChange={(e) => update({ allocation: e.currentTarget.value as 'uniform' | 'owl' })}
        >
          <option value="uniform">Uniform: every block at the run's sparsity</option>
          <option value="owl">OWL: blocks with more outliers keep more weights</option>
        </select>
      </div>
      {owl && (
        <>
          <div className="grid two">
            <NumberField
              label="OWL outlier threshold M"
              value={settings.owlThreshold ?? OWL_DEFAULTS.threshold}
              min={0}
              step={0.5}
              disabled={disabled}
              hint="A score |W|·‖X‖ above M × its block's mean is an outlier (the paper: 5)."
              onChange={(v) => update({ owlThreshold: v ?? Number.NaN })}
            />
            <NumberField
              label="OWL range λ (%)"
              value={Number(((settings.owlLambda ?? OWL_DEFAULTS.lambda) * 100).toFixed(2))}
              min={0}
              max={50}
              step={1}
              disabled={disabled}
              hint="Each block stays within ±λ of the run's sparsity (the paper: 8%)."
              onChange={(v) => update({ owlLambda: v === undefined ? Number.NaN : v / 100 })}
            />
          </div>
          {settings.pattern === 'unstructured' && Number.isFinite(range.low + range.high) && (
            <p className="info" data-testid="owl-preview">
              Before pruning, a dense pass over the calibration text measures each block's outlier ratio; each
              block then gets a sparsity from {formatPercent(range.low)} to {formatPercent(range.high)},
              averaging {formatPercent(settings.sparsity)}. The run shows each block's share before its first
              layer.
            </p>
          )}
        </>
      )}
    </>
  );
}

export function LayerTargetsCard() {
  const targets = useSettingsStore((s) => s.settings.layerTargets) ?? NO_TARGETS;
  const update = useSettingsStore((s) => s.update);
  const summary = readySummary(useModelStore((s) => s.status));
  const phase = useRunStore((s) => s.view.phase);
  const disabled = phase === 'running' || phase === 'cancelling';
  const setTargets = (next: LayerTarget[]) => update({ layerTargets: next });
  return (
    <section className="card layer-targets" aria-labelledby="layer-targets-title">
      <h2 id="layer-targets-title">Sparsity per layer</h2>
      <p className="muted small">
        For the next run (unstructured): spread the sparsity over the blocks, and give some layers their own.
        A target names layers as the skip list does ("mlp.down_proj", "layers.0.", a whole tensor name); where
        several match a layer, the last wins. The layer explorer's "Use … for this layer" adds one.
      </p>
      <AllocationFields disabled={disabled} />
      <table className="layer-targets-table">
        <caption>Per-layer targets</caption>
        <thead>
          <tr>
            <th scope="col">Layers</th>
            <th scope="col">Sparsity (%)</th>
            <th scope="col">Matches</th>
            <th scope="col">
              <span className="visually-hidden">Remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {targets.map((target, index) => (
            <TargetRow
              // biome-ignore lint/suspicious/noArrayIndexKey: rows are edited in place; their text is not stable
              key={index}
              target={target}
              index={index}
              matches={summary && matchCount(target.layers, summary.prunable)}
              disabled={disabled}
              onChange={(changed) => setTargets(targets.map((t, i) => (i === index ? changed : t)))}
              onRemove={() => setTargets(targets.filter((_, i) => i !== index))}
            />
          ))}
        </tbody>
      </table>
      {targets.length === 0 && (
        <p className="muted small">No per-layer targets: every layer gets the run's.</p>
      )}
      <div className="actions small">
        <button
          type="button"
          disabled={disabled}
          onClick={() => setTargets([...targets, { layers: '', sparsity: 0.5 }])}
        >
          Add a per-layer target
        </button>
        {targets.length > 0 && (
          <button type="button" className="quiet" disabled={disabled} onClick={() => setTargets([])}>
            Clear all targets
          </button>
        )}
      </div>
    </section>
  );
}

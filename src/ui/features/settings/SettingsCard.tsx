import { useEffect, useId, useState } from 'react';
import { patternMismatchWarning } from '../../../core/pipeline/plan';
import type { PruneMethod } from '../../../core/pipeline/types';
import { type ExpertCalibration, patternSparsity } from '../../../core/settings/prune-settings';
import { readySummary, useModelStore } from '../../../store/model';
import { useRunStore } from '../../../store/run';
import {
  APP_DEFAULT_SETTINGS,
  MAX_SPARSITY,
  type PatternChoice,
  parseSkipLayers,
  settingsProblems,
  useSettingsStore,
} from '../../../store/settings';
import { sweepBusy, useSweepStore } from '../../../store/sweep';
import { useTextsStore } from '../../../store/texts';
import { describeNM, errorMessage, METHOD_LABELS } from '../../shared/format';
import { NumberField } from '../../shared/NumberField';
import { type RadioChoice, RadioChoices } from '../../shared/RadioChoices';
import { startRun } from '../run/actions';
import { pruneBlocker } from '../run/blocker';
import { OutputFormatField } from './OutputFormatField';
import { QuantizationField } from './QuantizationField';

const METHOD_NOTES: Record<PruneMethod, string> = {
  sparsegpt: 'prunes and updates the remaining weights to make up for it (the paper’s method)',
  wanda: 'prunes by |weight| × input size, no update',
  magnitude: 'prunes the smallest weights, no calibration needed',
};

const METHOD_CHOICES: Array<RadioChoice<PruneMethod>> = (Object.keys(METHOD_LABELS) as PruneMethod[]).map(
  (method) => ({ value: method, label: METHOD_LABELS[method], note: METHOD_NOTES[method] }),
);

/**
 * N:M is said two ways in the field: SparseGPT counts the zeros (prune N of every M), NVIDIA's sparse tensor cores
 * count the weights kept. This app counts zeros, and says the other reading beside it.
 */
const PATTERNS: Array<RadioChoice<PatternChoice>> = [
  { value: 'unstructured', label: 'Unstructured', note: 'any weights, any sparsity' },
  { value: '2:4', label: '2:4', note: '2 zeros in every 4 weights, so 2 of 4 kept (sparse tensor cores)' },
  { value: '4:8', label: '4:8', note: '4 zeros in every 8 weights, so 4 of 8 kept' },
  {
    value: 'custom',
    label: 'Custom N:M',
    note: 'N zeros in every M weights (SparseGPT counts zeros; NVIDIA counts kept)',
  },
];

/** Mixtures of experts only: which calibration tokens each expert's Hessian is built from. */
function ExpertCalibrationField(props: {
  value: ExpertCalibration;
  disabled: boolean;
  onChange(value: ExpertCalibration): void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>Experts calibrated on</label>
      <select
        id={id}
        value={props.value}
        disabled={props.disabled}
        aria-describedby={`${id}-hint`}
        onChange={(e) => props.onChange(e.currentTarget.value as ExpertCalibration)}
      >
        <option value="routed">the tokens routed to each</option>
        <option value="all">every token</option>
      </select>
      <span className="hint" id={`${id}-hint`}>
        Every token helps experts the router rarely picks; an expert no token reaches stays dense.
      </span>
    </div>
  );
}

function SkipLayersField({ disabled }: { disabled: boolean }) {
  const id = useId();
  const skip = useSettingsStore((s) => s.settings.skipLayers);
  const update = useSettingsStore((s) => s.update);
  const [text, setText] = useState(skip.join(', '));
  useEffect(() => {
    // Follows outside changes (a reset) without fighting the user's typing (trailing commas, spaces).
    setText((current) => (parseSkipLayers(current).join() === skip.join() ? current : skip.join(', ')));
  }, [skip]);
  return (
    <div className="field wide">
      <label htmlFor={id}>Layers to skip</label>
      <input
        id={id}
        type="text"
        value={text}
        placeholder="e.g. layers.0., mlp.down_proj"
        aria-describedby={`${id}-hint`}
        disabled={disabled}
        onChange={(e) => {
          setText(e.currentTarget.value);
          update({ skipLayers: parseSkipLayers(e.currentTarget.value) });
        }}
      />
      <span className="hint" id={`${id}-hint`}>
        Left dense. Comma-separated: a whole tensor name, a suffix (mlp.down_proj) or a block (layers.0.).
      </span>
    </div>
  );
}

function PruneButton() {
  const model = useModelStore((s) => s.status);
  const calibration = useTextsStore((s) => s.calibration.text);
  const fileError = useTextsStore((s) => s.fileError);
  const settings = useSettingsStore((s) => s.settings);
  const phase = useRunStore((s) => s.view.phase);
  const [error, setError] = useState<string>();
  const problems = settingsProblems(settings, readySummary(model));
  const running = phase === 'running' || phase === 'cancelling';
  // A sweep's queue holds Prune between its points too.
  const sweeping = sweepBusy(useSweepStore((s) => s.phase));
  const blocker = pruneBlocker({
    model,
    calibration,
    fileError,
    settingsProblems: problems,
    phase: sweeping ? 'running' : phase,
  });
  return (
    <div className="prune-row">
      <button
        type="button"
        className="primary big"
        disabled={Boolean(blocker)}
        aria-describedby="prune-hint"
        onClick={() => {
          setError(undefined);
          startRun().catch((e: unknown) => setError(errorMessage(e)));
        }}
      >
        {running ? 'Pruning…' : 'Prune'}
      </button>
      <span id="prune-hint" className="hint">
        {blocker ?? (phase === 'done' ? 'Run again with these settings.' : '')}
      </span>
      {error && (
        <p className="problem-inline" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

export function SettingsCard() {
  const settings = useSettingsStore((s) => s.settings);
  const choice = useSettingsStore((s) => s.choice);
  const custom = useSettingsStore((s) => s.custom);
  const loaded = useSettingsStore((s) => s.loaded);
  const update = useSettingsStore((s) => s.update);
  const choosePattern = useSettingsStore((s) => s.choosePattern);
  const setCustom = useSettingsStore((s) => s.setCustom);
  const reset = useSettingsStore((s) => s.reset);
  const summary = readySummary(useModelStore((s) => s.status));
  const phase = useRunStore((s) => s.view.phase);
  const disabled = phase === 'running' || phase === 'cancelling';
  const sliderId = useId();
  const structured = settings.pattern !== 'unstructured';
  // NaN for an N:M that is not one (N ≥ M): the slider then shows no percentage, the problems list says why.
  const shownSparsity = patternSparsity(settings.pattern, settings.sparsity);
  const shownPercent = Number.isFinite(shownSparsity) ? `${Math.round(shownSparsity * 100)}%` : '—';
  const problems = settingsProblems(settings, summary);
  const mismatch = summary ? patternMismatchWarning(summary.prunable, settings) : undefined;
  if (!loaded) {
    return (
      <section className="card settings" aria-labelledby="settings-title" aria-busy="true">
        <h2 id="settings-title">
          <span className="step">3</span> Settings
        </h2>
        <p className="muted">Loading your settings…</p>
      </section>
    );
  }
  return (
    <section className="card settings" aria-labelledby="settings-title">
      <h2 id="settings-title">
        <span className="step">3</span> Settings
      </h2>
      <fieldset className="choices" disabled={disabled}>
        <legend>Method</legend>
        <RadioChoices
          name="method"
          choices={METHOD_CHOICES}
          selected={settings.method}
          onChoose={(method) => update({ method })}
        />
      </fieldset>
      <fieldset className="choices pattern" disabled={disabled}>
        <legend>Pattern</legend>
        <RadioChoices name="pattern" choices={PATTERNS} selected={choice} onChoose={choosePattern} />
        {choice === 'custom' && (
          <p className="hint" data-testid="nm-reading">
            {Number.isInteger(custom.n) && Number.isInteger(custom.m) && custom.n >= 1 && custom.n < custom.m
              ? describeNM(custom.n, custom.m)
              : 'N zeros in every M weights: N must be at least 1 and smaller than M.'}
          </p>
        )}
        {choice === 'custom' && (
          <div className="nm">
            <NumberField
              label="N (zeros)"
              value={custom.n}
              min={1}
              step={1}
              onChange={(n) => setCustom({ ...custom, n: n ?? Number.NaN })}
            />
            <NumberField
              label="M (group)"
              value={custom.m}
              min={2}
              step={1}
              onChange={(m) => setCustom({ ...custom, m: m ?? Number.NaN })}
            />
          </div>
        )}
      </fieldset>
      {mismatch && (
        <p className="note" data-testid="pattern-mismatch">
          {mismatch}
        </p>
      )}
      <QuantizationField disabled={disabled} />
      <OutputFormatField disabled={disabled} />
      <div className="slider-field">
        <label htmlFor={sliderId}>
          Sparsity <output htmlFor={sliderId}>{shownPercent}</output>
        </label>
        <input
          id={sliderId}
          type="range"
          min={0}
          max={MAX_SPARSITY * 100}
          step={1}
          value={Number.isFinite(shownSparsity) ? Math.round(shownSparsity * 100) : 0}
          aria-valuetext={`${shownPercent} of weights set to zero`}
          aria-describedby={`${sliderId}-hint`}
          disabled={disabled || structured}
          onChange={(e) => update({ sparsity: Number(e.currentTarget.value) / 100 })}
        />
        <span className="hint" id={`${sliderId}-hint`}>
          {structured
            ? Number.isFinite(shownSparsity)
              ? `${choice === 'custom' ? 'N:M' : choice} fixes the sparsity at ${shownPercent}.`
              : 'N:M fixes the sparsity at N/M once N is below M.'
            : `Share of weights set to zero in every pruned layer, up to ${MAX_SPARSITY * 100}%: beyond that a layer ` +
              'keeps too few weights for the model to say anything sensible.'}
        </span>
      </div>
      <details className="advanced">
        <summary>Advanced</summary>
        <div className="fields">
          <NumberField
            label="Calibration samples"
            value={settings.nsamples}
            min={1}
            step={1}
            disabled={disabled}
            hint="The paper uses 128."
            onChange={(v) => update({ nsamples: v ?? Number.NaN })}
          />
          <NumberField
            label="Sequence length (tokens)"
            value={settings.seqlen}
            min={2}
            step={1}
            disabled={disabled}
            hint={summary ? `At most ${summary.maxPositions} for this model.` : 'The paper uses 2048.'}
            onChange={(v) => update({ seqlen: v ?? Number.NaN })}
          />
          <NumberField
            label="Block size (columns)"
            value={settings.blockSize}
            min={1}
            step={1}
            disabled={disabled}
            hint="Lazy-batch width; 128 as in the paper."
            onChange={(v) => update({ blockSize: v ?? Number.NaN })}
          />
          <NumberField
            label="Dampening (% of mean diagonal)"
            value={Number((settings.percdamp * 100).toPrecision(6))}
            min={0}
            step={0.1}
            disabled={disabled}
            hint="1% as in the paper."
            onChange={(v) => update({ percdamp: v === undefined ? Number.NaN : v / 100 })}
          />
          <NumberField
            label="Evaluation windows"
            value={settings.evalMaxWindows}
            min={1}
            step={1}
            disabled={disabled}
            placeholder="all"
            hint="Limit on windows scored for perplexity; empty for all."
            onChange={(v) => update({ evalMaxWindows: v })}
          />
          <NumberField
            label="Random seed"
            value={settings.seed}
            min={0}
            step={1}
            disabled={disabled}
            hint="Which calibration windows are drawn."
            onChange={(v) => update({ seed: v ?? 0 })}
          />
          <SkipLayersField disabled={disabled} />
          {summary && summary.experts > 0 && (
            <ExpertCalibrationField
              value={settings.expertCalibration}
              disabled={disabled}
              onChange={(expertCalibration) => update({ expertCalibration })}
            />
          )}
        </div>
        <button
          type="button"
          className="quiet"
          disabled={disabled}
          onClick={reset}
          title={`Samples ${APP_DEFAULT_SETTINGS.nsamples}, sequence length ${APP_DEFAULT_SETTINGS.seqlen}`}
        >
          Reset all settings to defaults
        </button>
      </details>
      {problems.length > 0 && (
        <ul className="problems" role="alert">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <PruneButton />
    </section>
  );
}

import { useId } from 'react';
import type { PruneMethod, SparsityPattern } from '../../../core/pipeline/types';
import { patternSparsity } from '../../../core/settings/prune-settings';
import { useExplorerStore } from '../../../store/explorer';
import { useRunStore } from '../../../store/run';
import { MAX_SPARSITY, type PatternChoice, patternChoice } from '../../../store/settings';
import { describePattern, formatError, formatPercent, METHOD_LABELS } from '../../shared/format';
import { MaskPicture } from '../../shared/MaskPicture';
import { RadioChoices } from '../../shared/RadioChoices';
import { UseInNextRun } from '../layer-targets/UseInNextRun';
import { CURVE_SPARSITIES, changeExplorerControls, exploreLayer } from './actions';
import { CurveChart } from './CurveChart';

const PATTERN_OPTIONS: Array<{ choice: Exclude<PatternChoice, 'custom'>; label: string }> = [
  { choice: 'unstructured', label: 'Unstructured' },
  { choice: '2:4', label: '2:4' },
  { choice: '4:8', label: '4:8' },
];

function patternOf(choice: string): SparsityPattern {
  if (choice === '2:4') return { n: 2, m: 4 };
  if (choice === '4:8') return { n: 4, m: 8 };
  return 'unstructured';
}

export function ExplorerCard() {
  const explorer = useExplorerStore();
  const runLayers = useRunStore((s) => s.view.layers);
  const ids = { layer: useId(), pattern: useId(), slider: useId() };
  if (explorer.layers.length === 0 || !explorer.selected) return null;
  const { controls, probe, selected } = explorer;
  const layer = explorer.layers.find((l) => l.tensor === selected);
  const inRun = runLayers.find((l) => l.tensor === selected);
  const structured = controls.pattern !== 'unstructured';
  const shown = patternSparsity(controls.pattern, controls.sparsity);
  const current = probe?.tensor === selected ? probe : undefined;
  const choice = patternChoice(controls.pattern);
  return (
    <section className="card explorer" aria-labelledby="explorer-title" aria-busy={explorer.busy}>
      <h2 id="explorer-title">Layer explorer</h2>
      <p className="lead">
        Pick a layer and change how hard it is pruned: the worker re-prunes it from the Hessian kept from the
        run (no new calibration) and the error and mask update as you drag.
      </p>
      <div className="explorer-grid">
        <div className="explorer-controls">
          <div className="field">
            <label htmlFor={ids.layer}>Layer</label>
            <select id={ids.layer} value={selected} onChange={(e) => exploreLayer(e.currentTarget.value)}>
              {explorer.layers.map((l) => (
                <option key={l.tensor} value={l.tensor}>
                  block {l.block} · {l.name} ({l.rows}×{l.cols})
                </option>
              ))}
            </select>
          </div>
          <fieldset className="choices inline">
            <legend>Method for this layer</legend>
            <RadioChoices
              name="explorer-method"
              choices={(Object.keys(METHOD_LABELS) as PruneMethod[]).map((method) => ({
                value: method,
                label: METHOD_LABELS[method],
              }))}
              selected={controls.method}
              onChoose={(method) => changeExplorerControls({ method })}
            />
          </fieldset>
          <div className="field">
            <label htmlFor={ids.pattern}>Pattern for this layer</label>
            <select
              id={ids.pattern}
              value={choice === 'custom' ? 'unstructured' : choice}
              onChange={(e) => changeExplorerControls({ pattern: patternOf(e.currentTarget.value) })}
            >
              {PATTERN_OPTIONS.map((p) => (
                <option key={p.choice} value={p.choice}>
                  {p.label}
                </option>
              ))}
            </select>
          </div>
          <div className="slider-field">
            <label htmlFor={ids.slider}>
              Prune this layer to <output htmlFor={ids.slider}>{Math.round(shown * 100)}%</output>
            </label>
            <input
              id={ids.slider}
              type="range"
              min={0}
              max={MAX_SPARSITY * 100}
              step={1}
              value={Math.round(shown * 100)}
              disabled={structured}
              aria-valuetext={`${Math.round(shown * 100)}% of this layer's weights set to zero`}
              onChange={(e) => changeExplorerControls({ sparsity: Number(e.currentTarget.value) / 100 })}
            />
          </div>
          {!structured && layer && (
            <UseInNextRun
              tensor={layer.tensor}
              label={`block ${layer.block} ${layer.name}`}
              sparsity={controls.sparsity}
            />
          )}
          <div className="probe" aria-live="polite">
            <div className="stat">
              <span className="stat-label">Relative error</span>
              <span className="stat-value" data-testid="explorer-error">
                {current ? formatError(current.reply.relativeError) : '…'}
              </span>
              <span className="stat-note">
                {current
                  ? `${METHOD_LABELS[current.controls.method]}, ${describePattern(current.controls.pattern, current.controls.sparsity)}, ${formatPercent(current.reply.sparsity)} zeros`
                  : 'Re-pruning…'}
              </span>
            </div>
            {inRun && !inRun.skipped && (
              <div className="stat">
                <span className="stat-label">In the run</span>
                <span className="stat-value">{formatError(inRun.relativeError)}</span>
                <span className="stat-note">{formatPercent(inRun.sparsity)} zeros</span>
              </div>
            )}
            {explorer.busy && <span className="spinner" role="status" aria-label="Re-pruning" />}
          </div>
          {explorer.error && (
            <p className="problem-inline" role="alert">
              {explorer.error}
            </p>
          )}
        </div>
        <div className="explorer-pictures">
          {current && layer && (
            <figure className="mask-figure">
              <MaskPicture
                mask={current.reply.mask}
                shape={layer}
                size={180}
                label={`Mask of block ${layer.block} ${layer.name} at the explorer's settings`}
              />
              <figcaption className="muted">Kept weights (brighter keeps more)</figcaption>
            </figure>
          )}
          {explorer.curve?.tensor === selected && explorer.curve.points.length < CURVE_SPARSITIES.length && (
            <p className="muted small" role="status">
              Measuring the error curve: {explorer.curve.points.length} of {CURVE_SPARSITIES.length}{' '}
              sparsities…
            </p>
          )}
          {explorer.curve?.tensor === selected ? (
            <CurveChart
              points={explorer.curve.points}
              marker={
                current
                  ? {
                      sparsity: current.reply.sparsity,
                      error: current.reply.relativeError,
                      method: current.controls.method,
                    }
                  : undefined
              }
            />
          ) : (
            <p className="muted">Measuring the error curve…</p>
          )}
        </div>
      </div>
    </section>
  );
}

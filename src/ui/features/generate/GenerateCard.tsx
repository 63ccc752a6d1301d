import { useId } from 'react';
import { type Continuation, type GenerateControls, useGenerateStore } from '../../../store/generate';
import { useRunStore } from '../../../store/run';
import type { GenerateModel } from '../../../worker/api';
import { Note } from '../../shared/Note';
import { MAX_NEW_TOKENS, startGeneration, stopGeneration, targetOfRun } from './actions';
import { LossText } from './LossText';

const PANELS: Array<{ model: GenerateModel; title: string }> = [
  { model: 'dense', title: 'Dense model output' },
  { model: 'pruned', title: 'Pruned model output' },
];

function speed(output: Continuation): string {
  const tokens = `${output.tokens} token${output.tokens === 1 ? '' : 's'}`;
  const rate = output.tokensPerSecond === undefined ? '' : ` · ${output.tokensPerSecond.toFixed(1)} tokens/s`;
  const stop = output.stop === 'eos' ? ' · ended the text' : '';
  return `${tokens}${rate}${stop}`;
}

function OutputPanel({ title, output }: { title: string; output: Continuation }) {
  const id = useId();
  return (
    <section className="generation-panel" aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      <p className="generation-text" data-testid="generated-text">
        {output.text}
      </p>
      <p className="muted small" data-testid="generation-speed">
        {speed(output)}
      </p>
    </section>
  );
}

function NumberField({
  field,
  label,
  step,
  min,
  max,
  disabled,
}: {
  field: 'maxTokens' | 'temperature' | 'topP' | 'seed';
  label: string;
  step: number;
  min: number;
  max?: number;
  disabled?: boolean;
}) {
  const id = useId();
  const value = useGenerateStore((s) => s.controls[field]);
  const problem = useGenerateStore((s) => (s.problem?.field === field ? s.problem.message : undefined));
  const setControls = useGenerateStore((s) => s.setControls);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        step={step}
        min={min}
        max={max}
        value={Number.isNaN(value) ? '' : value}
        disabled={disabled}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? `${id}-problem` : undefined}
        onChange={(e) => setControls({ [field]: e.currentTarget.valueAsNumber } as Partial<GenerateControls>)}
      />
      {problem && (
        <p id={`${id}-problem`} className="problem-inline" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}

export function GenerateCard() {
  const view = useRunStore((s) => s.view);
  const runTarget = targetOfRun(view);
  const state = useGenerateStore();
  const promptId = useId();
  // A run from history stays the target until another run is shown.
  const target = state.chosen && state.chosenOver === view.runId ? state.chosen : runTarget;
  if (!target) return null;
  const { controls, phase } = state;
  const busy = phase === 'running' || phase === 'stopping';
  const sampling = controls.decoding === 'sample';
  const promptProblem = state.problem?.field === 'prompt' ? state.problem.message : undefined;
  const shownTarget = state.shown ?? target;
  return (
    <section className="card generate" aria-labelledby="generate-title" aria-busy={busy}>
      <h2 id="generate-title">Generate: dense and pruned side by side</h2>
      <p className="lead">
        Both models continue your prompt on this GPU, a token of each in turn: the open model and the pruned
        output of <strong>{target.label}</strong>.
      </p>
      <div className="field wide">
        <label htmlFor={promptId}>Prompt</label>
        <textarea
          id={promptId}
          rows={2}
          value={controls.prompt}
          disabled={busy}
          aria-invalid={promptProblem ? true : undefined}
          onChange={(e) => state.setControls({ prompt: e.currentTarget.value })}
        />
        {promptProblem && (
          <p className="problem-inline" role="alert">
            {promptProblem}
          </p>
        )}
      </div>
      <div className="fields">
        <NumberField
          field="maxTokens"
          label="Max tokens"
          step={1}
          min={1}
          max={MAX_NEW_TOKENS}
          disabled={busy}
        />
        <fieldset className="choices inline" disabled={busy}>
          <legend>Decoding</legend>
          <label className="choice">
            <input
              type="radio"
              name="decoding"
              checked={!sampling}
              onChange={() => state.setControls({ decoding: 'greedy' })}
            />
            <span>Greedy</span>
          </label>
          <label className="choice">
            <input
              type="radio"
              name="decoding"
              checked={sampling}
              onChange={() => state.setControls({ decoding: 'sample' })}
            />
            <span>Sample</span>
          </label>
        </fieldset>
      </div>
      {sampling && (
        <div className="fields">
          <NumberField field="temperature" label="Temperature" step={0.1} min={0} disabled={busy} />
          <NumberField field="topP" label="Top-p" step={0.05} min={0} max={1} disabled={busy} />
          <NumberField field="seed" label="Seed" step={1} min={0} disabled={busy} />
        </div>
      )}
      <div className="actions">
        <button type="button" className="primary" disabled={busy} onClick={() => startGeneration(target)}>
          Generate
        </button>
        {busy && (
          <button type="button" onClick={stopGeneration} disabled={phase === 'stopping'}>
            {phase === 'stopping' ? 'Stopping…' : 'Stop'}
          </button>
        )}
        {phase === 'stopped' && <span className="muted small">Stopped.</span>}
      </div>
      {state.error && (
        <p className="problem-inline" role="alert">
          {state.error}
        </p>
      )}
      {state.notes.map((note) => (
        <Note key={note} text={note} />
      ))}
      {phase !== 'idle' && (
        <>
          {state.shown && state.shown.runId !== target.runId && (
            <p className="hint">Shown: the output of {shownTarget.label}.</p>
          )}
          <div className="generation-panels">
            {PANELS.map(({ model, title }) => (
              <OutputPanel key={model} title={title} output={state.outputs[model]} />
            ))}
          </div>
        </>
      )}
      <LossText key={target.runId} target={target} />
    </section>
  );
}

import { type DragEvent, useEffect, useId, useRef, useState } from 'react';
import { useModelStore } from '../../../store/model';
import { useSettingsStore } from '../../../store/settings';
import { type Measured, type TextSource, useTextsStore } from '../../../store/texts';
import { formatBytes, formatInteger } from '../../shared/format';
import { Note } from '../../shared/Note';
import { keepCurrentText, loadSampleText, measureTexts, openTextFile, type Which } from './actions';

/** Above this many characters a text is shown as a file chip rather than in the box (typing stays fast). */
const INLINE_LIMIT = 200_000;

function TextField(props: {
  which: Which;
  label: string;
  hint: string;
  source: TextSource;
  onText(source: TextSource): void;
  status: React.ReactNode;
  disabled: boolean;
}) {
  const { which, label, hint, source, onText, status, disabled } = props;
  const id = useId();
  const fileInput = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const fileError = useTextsStore((s) => (s.fileError?.which === which ? s.fileError : undefined));
  const large = source.text.length > INLINE_LIMIT;
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    event.stopPropagation();
    setOver(false);
    const file = event.dataTransfer.files[0];
    if (file) void openTextFile(file, which);
  };
  return (
    <fieldset
      className={`text-field${over ? ' over' : ''}`}
      onDragOver={(e) => {
        if (!Array.from(e.dataTransfer.types).includes('Files')) return;
        e.preventDefault();
        e.stopPropagation();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <label htmlFor={id}>{label}</label>
      <p className="hint" id={`${id}-hint`}>
        {hint}
      </p>
      {large ? (
        <div className="text-chip" id={id}>
          <span>
            {source.origin || 'Text'} · {formatBytes(source.text.length)} of text
          </span>
          <button
            type="button"
            className="quiet"
            onClick={() => onText({ text: '', origin: '' })}
            disabled={disabled}
          >
            Clear
          </button>
        </div>
      ) : (
        <textarea
          id={id}
          aria-describedby={`${id}-hint ${id}-status`}
          value={source.text}
          placeholder="Paste text here, or drop a .txt / .jsonl file on this box"
          rows={5}
          spellCheck={false}
          disabled={disabled}
          onChange={(e) => onText({ text: e.currentTarget.value, origin: 'pasted text' })}
        />
      )}
      <div className="text-actions">
        <button type="button" onClick={() => fileInput.current?.click()} disabled={disabled}>
          Choose a file…
        </button>
        <button type="button" onClick={() => void loadSampleText(which)} disabled={disabled}>
          Use the sample text
        </button>
        <input
          ref={fileInput}
          type="file"
          hidden
          accept=".txt,.jsonl,.md,text/plain"
          aria-label={`${label} file`}
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            if (file) void openTextFile(file, which);
            e.currentTarget.value = '';
          }}
        />
      </div>
      <div className="text-status" id={`${id}-status`} aria-live="polite">
        {fileError ? (
          <div className="problem-inline" role="alert">
            <p>{fileError.message}</p>
            <p>
              {fileError.kept
                ? `The ${which} text is unchanged (still ${fileError.kept}).`
                : `There is no ${which} text yet.`}{' '}
              Choose another file{fileError.kept ? ', or keep the current text.' : '.'}
            </p>
            {fileError.kept && (
              <button type="button" onClick={keepCurrentText}>
                Keep the current text
              </button>
            )}
          </div>
        ) : (
          status
        )}
      </div>
    </fieldset>
  );
}

function MeasureLine<T>(props: {
  measure: Measured<T> | undefined;
  text: string;
  modelReady: boolean;
  render(value: T): React.ReactNode;
}) {
  const { measure, text, modelReady, render } = props;
  if (!text.trim()) return null;
  if (!modelReady) return <p className="muted">Open a model to count tokens with its tokenizer.</p>;
  if (!measure) return <p className="muted">Counting tokens…</p>;
  if (measure.error) {
    return (
      <p className="problem-inline" role="alert">
        {measure.error}
      </p>
    );
  }
  return measure.value ? render(measure.value) : null;
}

/** Re-tokenizes (in the worker) a moment after the text or the sizes change. */
function useMeasurements(generation: number, modelReady: boolean) {
  const calibration = useTextsStore((s) => s.calibration.text);
  const evaluation = useTextsStore((s) => s.evaluation.text);
  const nsamples = useSettingsStore((s) => s.settings.nsamples);
  const seqlen = useSettingsStore((s) => s.settings.seqlen);
  const maxWindows = useSettingsStore((s) => s.settings.evalMaxWindows);
  useEffect(
    () =>
      modelReady
        ? measureTexts('calibration', { generation, text: calibration, nsamples, seqlen })
        : undefined,
    [generation, modelReady, calibration, nsamples, seqlen],
  );
  useEffect(
    () =>
      modelReady
        ? measureTexts('evaluation', { generation, text: evaluation, seqlen, maxWindows })
        : undefined,
    [generation, modelReady, evaluation, seqlen, maxWindows],
  );
}

export function TextsCard() {
  const status = useModelStore((s) => s.status);
  const generation = useModelStore((s) => s.generation);
  const modelReady = status.kind === 'ready';
  const calibration = useTextsStore((s) => s.calibration);
  const evaluation = useTextsStore((s) => s.evaluation);
  const calibrationMeasure = useTextsStore((s) => s.calibrationMeasure);
  const evaluationMeasure = useTextsStore((s) => s.evaluationMeasure);
  const setCalibration = useTextsStore((s) => s.setCalibration);
  const setEvaluation = useTextsStore((s) => s.setEvaluation);
  useMeasurements(generation, modelReady);
  return (
    <section className="card texts" aria-labelledby="texts-title">
      <h2 id="texts-title">
        <span className="step">2</span> Texts
      </h2>
      <TextField
        which="calibration"
        label="Calibration text"
        hint="SparseGPT measures how each layer is used on this text. Plain prose like the model's own data works best."
        source={calibration}
        onText={setCalibration}
        disabled={false}
        status={
          <MeasureLine
            measure={calibrationMeasure}
            text={calibration.text}
            modelReady={modelReady}
            render={(m) => (
              <>
                <p data-testid="calibration-measure">
                  <strong>{formatInteger(m.textTokens)}</strong> tokens →{' '}
                  <strong>
                    {m.nsamples} samples × {m.seqlen} tokens
                  </strong>
                </p>
                {m.notes.map((note) => (
                  <Note key={note} text={note} />
                ))}
              </>
            )}
          />
        }
      />
      <TextField
        which="evaluation"
        label="Evaluation text (optional)"
        hint="Perplexity before and after pruning is measured on this text. Use text not in the calibration text."
        source={evaluation}
        onText={setEvaluation}
        disabled={false}
        status={
          <MeasureLine
            measure={evaluationMeasure}
            text={evaluation.text}
            modelReady={modelReady}
            render={(m) => (
              <>
                <p data-testid="evaluation-measure">
                  <strong>{formatInteger(m.textTokens)}</strong> tokens →{' '}
                  <strong>
                    {m.windows} window{m.windows === 1 ? '' : 's'} of {m.seqlen} tokens
                  </strong>
                </p>
                {m.notes.map((note) => (
                  <Note key={note} text={note} />
                ))}
              </>
            )}
          />
        }
      />
    </section>
  );
}

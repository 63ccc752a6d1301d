import { useEffect, useRef, useState } from 'react';
import { progressFraction, type RunView, useRunStore } from '../../../store/run';
import { useResumeStore } from '../../../store/unfinished';
import { describeSettings, formatDuration, formatInteger } from '../../shared/format';
import { LayerTable } from '../../shared/LayerTable';
import { MaskPicture } from '../../shared/MaskPicture';
import { Note } from '../../shared/Note';
import { AllocationTable } from '../layer-targets/AllocationTable';
import { resumeUnfinished } from '../resume/actions';
import { cancelRun, stopRunNow } from './actions';
import { ErrorChart } from './ErrorChart';

/** Seconds since the run started, ticking while it runs. */
function useElapsed(view: RunView): number {
  const [now, setNow] = useState(() => Date.now());
  const live = view.phase === 'running' || view.phase === 'cancelling';
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [live]);
  if (!view.startedAt) return 0;
  return ((live ? now : (view.finishedAt ?? now)) - view.startedAt) / 1000;
}

/** The pipeline's estimate when it gives one; otherwise elapsed × remaining / done. */
function etaSeconds(view: RunView, elapsed: number): number | undefined {
  if (view.progress.etaSeconds !== undefined) return view.progress.etaSeconds;
  const fraction = progressFraction(view);
  if (fraction < 0.02) return undefined;
  return (elapsed * (1 - fraction)) / fraction;
}

function Progress({ view }: { view: RunView }) {
  const elapsed = useElapsed(view);
  const fraction = progressFraction(view);
  const live = view.phase === 'running' || view.phase === 'cancelling';
  const eta = live ? etaSeconds(view, elapsed) : undefined;
  const percent = Math.round(fraction * 100);
  const text = `${percent}%${eta !== undefined ? `, about ${formatDuration(eta)} left` : ''}`;
  return (
    <div className="progress">
      <div
        className={`bar ${view.phase}`}
        role="progressbar"
        aria-label="Run progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        aria-valuetext={text}
      >
        <div className="fill" style={{ width: `${fraction * 100}%` }} />
      </div>
      <div className="progress-text">
        <span>
          <strong>{percent}%</strong>
          {view.block && live ? ` · block ${view.block.block + 1} of ${view.block.blocks}` : ''}
        </span>
        <span className="muted">
          {formatDuration(elapsed)} elapsed
          {eta !== undefined ? ` · about ${formatDuration(eta)} left` : ''}
        </span>
      </div>
    </div>
  );
}

function CancelControls({ view }: { view: RunView }) {
  const [slow, setSlow] = useState(false);
  useEffect(() => {
    if (view.phase !== 'cancelling') {
      setSlow(false);
      return;
    }
    // A polite cancel waits for the current layer; offer a hard stop if that takes a while.
    const timer = setTimeout(() => setSlow(true), 5000);
    return () => clearTimeout(timer);
  }, [view.phase]);
  if (view.phase === 'running') {
    return (
      <button type="button" onClick={cancelRun}>
        Cancel
      </button>
    );
  }
  if (view.phase === 'cancelling') {
    return (
      <span className="cancel-wait">
        Stopping after the current layer…
        {slow && (
          <button type="button" className="danger" onClick={stopRunNow}>
            Stop now
          </button>
        )}
      </span>
    );
  }
  return null;
}

/** A run that starts is brought into view: its progress and Cancel are otherwise below the settings. */
function useBroughtIntoView(view: RunView) {
  const card = useRef<HTMLElement>(null);
  const shown = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (view.phase !== 'running' || !view.runId || shown.current === view.runId) return;
    shown.current = view.runId;
    const reduced = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    card.current?.scrollIntoView({ block: 'start', behavior: reduced ? 'auto' : 'smooth' });
  }, [view.phase, view.runId]);
  return card;
}

export function RunCard() {
  const view = useRunStore((s) => s.view);
  const offer = useResumeStore((s) => s.offer);
  const card = useBroughtIntoView(view);
  if (view.phase === 'idle') return null;
  const live = view.phase === 'running' || view.phase === 'cancelling';
  const mask = view.latestMask;
  return (
    <section className="card run" aria-labelledby="run-title" aria-busy={live} ref={card}>
      <div className="card-head">
        <h2 id="run-title">
          <span className="step">4</span> Run
          {view.settings && <span className="badge">{describeSettings(view.settings)}</span>}
        </h2>
        <CancelControls view={view} />
      </div>
      <p className="stage" aria-live="polite" data-testid="run-stage">
        {view.phase === 'cancelled'
          ? 'Cancelled. Nothing was saved; change the settings or press Prune to start again.'
          : view.phase === 'done'
            ? 'Done.'
            : view.stageMessage}
      </p>
      <Progress view={view} />
      {view.phase === 'failed' && (
        <div className="problem" role="alert">
          <strong>The run stopped with an error.</strong>
          <p data-testid="run-error">{view.error}</p>
          {offer && (
            <div className="actions">
              <button type="button" className="primary" onClick={() => void resumeUnfinished()}>
                Resume
              </button>
            </div>
          )}
        </div>
      )}
      {view.calibration && (
        <p className="muted">
          Calibration: {view.calibration.nsamples} samples × {view.calibration.seqlen} tokens from a text of{' '}
          {formatInteger(view.calibration.textTokens)} tokens.
        </p>
      )}
      {[...(view.calibration?.notes ?? []), ...view.warnings].map((note) => (
        <Note key={note} text={note} />
      ))}
      {view.allocation && <AllocationTable allocation={view.allocation} />}
      {view.layers.length > 0 && (
        <div className="run-grid">
          <LayerTable layers={view.layers} caption="Per-layer results" live={live} />
          <div className="run-side">
            <ErrorChart layers={view.layers} blocks={view.block?.blocks} />
            {mask && (
              <figure className="mask-figure">
                <MaskPicture
                  mask={mask.mask}
                  shape={view.layers.find((l) => l.tensor === mask.tensor)}
                  label={`Mask of block ${mask.block} ${mask.name}: brighter cells keep more weights`}
                />
                <figcaption>
                  <strong>
                    Block {mask.block} · {mask.name}
                  </strong>
                  <span className="muted">
                    Kept weights of the latest layer: rows down, columns across, brighter keeps more.
                  </span>
                </figcaption>
              </figure>
            )}
          </div>
        </div>
      )}
    </section>
  );
}

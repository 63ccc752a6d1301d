import { useRef } from 'react';
import { useRunStore } from '../../../store/run';
import { type ResumeOffer, useResumeStore } from '../../../store/unfinished';
import { describeSettings, errorMessage } from '../../shared/format';
import { collectPickedFiles } from '../model/drop';
import { resumeUnfinished, resumeWithFiles } from './actions';
import { discardUnfinished } from './offer';

function describeOffer({ run, doneBlocks }: ResumeOffer): string {
  const { settings } = run;
  return (
    `${describeSettings(settings)}, ${settings.nsamples} × ${settings.seqlen} tokens, ` +
    `${doneBlocks} of ${run.blocks} blocks done`
  );
}

/** Picking the folder again: the browser keeps no access to dropped files across a reload. */
function PickAgain({ name }: { name: string }) {
  const input = useRef<HTMLInputElement>(null);
  const setStatus = useResumeStore((s) => s.setStatus);
  return (
    <>
      <p>
        The browser does not keep access to dropped files across a reload: pick the folder{' '}
        <strong>{name}</strong> again, or drop it on this page. Its files are checked against the ones the run
        used.
      </p>
      <div className="actions">
        <button type="button" className="primary" onClick={() => input.current?.click()}>
          Pick {name} again…
        </button>
        <input
          ref={input}
          type="file"
          hidden
          aria-label="Model folder to resume with"
          {...{ webkitdirectory: '', directory: '' }}
          onChange={(e) => {
            // Copied before the input is reset: resetting empties the live FileList.
            const list = Array.from(e.currentTarget.files ?? []);
            e.currentTarget.value = '';
            if (list.length === 0) return;
            try {
              void resumeWithFiles(collectPickedFiles(list));
            } catch (error) {
              setStatus('needs-files', errorMessage(error));
            }
          }}
        />
        <button type="button" onClick={() => void discardUnfinished()}>
          Discard
        </button>
      </div>
    </>
  );
}

/** Offers to finish a run that a reload, a crashed tab or a lost GPU device interrupted. */
export function ResumeCard() {
  const { offer, status, error } = useResumeStore();
  const phase = useRunStore((s) => s.view.phase);
  if (!offer) return null;
  const running = phase === 'running' || phase === 'cancelling';
  const { run } = offer;
  return (
    <section className="card resume" aria-labelledby="resume-title">
      <h2 id="resume-title">Unfinished run</h2>
      <p data-testid="resume-offer">
        An unfinished run of <strong>{run.model.name}</strong> ({describeOffer(offer)}).
      </p>
      {error && (
        <p className="problem-inline" role="alert">
          {error}
        </p>
      )}
      {status === 'needs-files' && run.model.kind === 'files' ? (
        <PickAgain name={run.model.folderName ?? run.model.name} />
      ) : (
        <div className="actions">
          <button
            type="button"
            className="primary"
            disabled={status === 'resuming' || running}
            onClick={() => void resumeUnfinished()}
          >
            {status === 'resuming' ? 'Resuming…' : 'Resume'}
          </button>
          <button type="button" disabled={status === 'resuming'} onClick={() => void discardUnfinished()}>
            Discard
          </button>
        </div>
      )}
      <p className="hint">
        Finished blocks are replayed from this browser's storage, so the result is the same as an
        uninterrupted run's.
      </p>
    </section>
  );
}

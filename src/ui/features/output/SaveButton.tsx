import { useState } from 'react';
import { errorMessage, formatBytes } from '../../shared/format';
import { canSaveIntoFolder, type SaveOutcome, saveRunOutput } from './save';

type SaveState =
  | { kind: 'idle' }
  | { kind: 'saving'; done: number; total: number }
  | { kind: 'saved'; outcome: SaveOutcome }
  | { kind: 'failed'; message: string };

function outcomeText(outcome: SaveOutcome): string {
  switch (outcome.kind) {
    case 'folder':
      return `Saved ${outcome.files} files (${formatBytes(outcome.bytes)}) into ${outcome.folder}.`;
    case 'file':
      return `Downloading ${outcome.fileName} (${formatBytes(outcome.bytes)}).`;
    case 'zip':
      return `Downloading ${outcome.fileName} (${formatBytes(outcome.bytes)}); unzip it to get the model folder.`;
    case 'cancelled':
      return 'Not saved: no folder was chosen.';
  }
}

/**
 * Saves a run's output: one .gguf file as a download; a folder into a folder the user picks where the browser allows
 * it, else as one ZIP download.
 */
export function SaveButton(props: {
  runFolder: string;
  downloadName: string;
  label: string;
  primary?: boolean;
  /** The output is one .gguf file (downloaded as it is). */
  singleFile?: boolean;
}) {
  const { runFolder, downloadName, label, primary, singleFile } = props;
  const [state, setState] = useState<SaveState>({ kind: 'idle' });
  const save = async () => {
    setState({ kind: 'saving', done: 0, total: 1 });
    try {
      const outcome = await saveRunOutput(runFolder, downloadName, (done, total) =>
        setState({ kind: 'saving', done, total }),
      );
      setState({ kind: 'saved', outcome });
    } catch (error) {
      setState({ kind: 'failed', message: `Could not save the model: ${errorMessage(error)}` });
    }
  };
  return (
    <div className="save">
      <button
        type="button"
        className={primary ? 'primary big' : undefined}
        onClick={() => void save()}
        disabled={state.kind === 'saving'}
        title={
          singleFile
            ? `Downloads ${downloadName}.gguf`
            : canSaveIntoFolder()
              ? `Choose a folder; the model is written into ${downloadName}/ inside it`
              : `Downloads ${downloadName}.zip`
        }
      >
        {label}
      </button>
      <span className="save-status" aria-live="polite">
        {state.kind === 'saving' &&
          `Saving… ${Math.round((state.done / Math.max(1, state.total)) * 100)}% of ${formatBytes(state.total)}`}
        {state.kind === 'saved' && outcomeText(state.outcome)}
      </span>
      {state.kind === 'failed' && (
        <p className="problem-inline" role="alert">
          {state.message}
        </p>
      )}
    </div>
  );
}

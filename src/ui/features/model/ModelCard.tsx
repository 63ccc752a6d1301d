import { useRef } from 'react';
import type { ModelSummary, PrunableLinear } from '../../../core/pipeline/types';
import { useModelStore } from '../../../store/model';
import { useRunStore } from '../../../store/run';
import { useSessionStore } from '../../../store/session';
import { formatBytes, formatCount, formatInteger } from '../../shared/format';
import { loadDemoModel, reportDropError } from './actions';
import { type CollectedFiles, collectPickedFiles, type HowGiven } from './drop';

/** Where picked files go (the page decides: a model, a text, or the folder a resume asked for). */
type OnFiles = (collected: CollectedFiles, how: HowGiven) => Promise<void>;

/** A hidden file input for a folder (webkitdirectory), clicked by a visible button. */
function FolderInput(props: {
  label: string;
  onFiles: OnFiles;
  inputRef: React.RefObject<HTMLInputElement | null>;
}) {
  const { label, onFiles, inputRef } = props;
  return (
    <input
      ref={inputRef}
      type="file"
      hidden
      aria-label={label}
      {...{ webkitdirectory: '', directory: '' }}
      onChange={(e) => {
        pickInto(e.currentTarget.files, onFiles);
        e.currentTarget.value = '';
      }}
    />
  );
}

function pickInto(list: FileList | null, onFiles: OnFiles): void {
  if (!list || list.length === 0) return;
  try {
    void onFiles(collectPickedFiles(list), 'selected');
  } catch (error) {
    reportDropError(error);
  }
}

/** "q_proj, k_proj … (7 per block)" grouped by short name, with shapes. */
function linearKinds(prunable: PrunableLinear[]): Array<{ name: string; shape: string; count: number }> {
  const kinds = new Map<string, { name: string; shape: string; count: number }>();
  for (const linear of prunable) {
    const key = `${linear.name} ${linear.rows}×${linear.cols}`;
    const kind = kinds.get(key) ?? { name: linear.name, shape: `${linear.rows}×${linear.cols}`, count: 0 };
    kind.count++;
    kinds.set(key, kind);
  }
  return [...kinds.values()];
}

function Summary({ summary }: { summary: ModelSummary }) {
  const prunableWeights = summary.prunable.reduce((sum, l) => sum + l.rows * l.cols, 0);
  return (
    <>
      <p className="model-name">
        <strong data-testid="model-name">{summary.name}</strong>
        <span className="badge">{summary.modelType}</span>
      </p>
      <dl className="facts">
        <dt>Architecture</dt>
        <dd>
          {summary.family} · hidden {summary.hiddenSize} · MLP {summary.intermediateSize} · {summary.heads}{' '}
          heads
          {summary.kvHeads !== summary.heads ? ` (${summary.kvHeads} KV)` : ''}
        </dd>
        <dt>Layers</dt>
        <dd>{summary.layers} transformer blocks</dd>
        {summary.particulars.length > 0 && (
          <>
            <dt>Features</dt>
            <dd data-testid="model-particulars">{summary.particulars.join(' · ')}</dd>
          </>
        )}
        <dt>Parameters</dt>
        <dd title={formatInteger(summary.parameters)}>{formatCount(summary.parameters)}</dd>
        <dt>Weights</dt>
        <dd>
          {summary.dtypes.join(', ')} · {formatBytes(summary.sizeBytes)} on disk
          {summary.shards > 1 ? ` in ${summary.shards} shards` : ''}
        </dd>
        <dt>Tokenizer</dt>
        <dd>{summary.tokenizer}</dd>
        <dt>Context</dt>
        <dd>
          {formatInteger(summary.maxPositions)} positions · vocabulary {formatInteger(summary.vocabSize)}
        </dd>
        <dt>To prune</dt>
        <dd>
          {summary.prunable.length} linear layers, {formatCount(prunableWeights)} weights (
          {Math.round((prunableWeights / Math.max(1, summary.parameters)) * 100)}% of the model)
        </dd>
      </dl>
      <details className="linears">
        <summary>Which linears are pruned</summary>
        <ul>
          {linearKinds(summary.prunable).map((kind) => (
            <li key={`${kind.name}-${kind.shape}`}>
              <code>{kind.name}</code> {kind.shape} <span className="muted">× {kind.count}</span>
            </li>
          ))}
        </ul>
        <p className="hint">Embeddings, norms and the output head stay as they are.</p>
      </details>
      {summary.warnings.length > 0 && (
        <ul className="warnings">
          {summary.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
    </>
  );
}

/** After a reload: the browser keeps no access to a dropped folder, so the page asks for it again. */
function Reopen({ onFiles, disabled }: { onFiles: OnFiles; disabled: boolean }) {
  const reopen = useSessionStore((s) => s.reopen);
  const input = useRef<HTMLInputElement>(null);
  if (!reopen) return null;
  const name = reopen.folderName ?? reopen.name;
  return (
    <div className="reopen" data-testid="reopen-offer">
      <p className="reopen-text">
        Last time <strong>{name}</strong> was open. The browser does not keep access to dropped files across a
        reload: pick the folder again to go on with it.
      </p>
      <div className="actions">
        <button type="button" className="primary" onClick={() => input.current?.click()} disabled={disabled}>
          Pick {name} again…
        </button>
        <FolderInput label={`Model folder ${name}`} onFiles={onFiles} inputRef={input} />
      </div>
    </div>
  );
}

function Pickers({ disabled, onFiles }: { disabled: boolean; onFiles: OnFiles }) {
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  return (
    <div className="actions">
      <button type="button" className="primary" onClick={() => void loadDemoModel()} disabled={disabled}>
        Try the demo model
      </button>
      <button type="button" onClick={() => folderInput.current?.click()} disabled={disabled}>
        Choose a folder…
      </button>
      <button type="button" onClick={() => filesInput.current?.click()} disabled={disabled}>
        Choose files…
      </button>
      <FolderInput label="Model folder" onFiles={onFiles} inputRef={folderInput} />
      <input
        ref={filesInput}
        type="file"
        hidden
        multiple
        aria-label="Model files"
        onChange={(e) => {
          pickInto(e.currentTarget.files, onFiles);
          e.currentTarget.value = '';
        }}
      />
    </div>
  );
}

export function ModelCard({ onFiles }: { onFiles: OnFiles }) {
  const status = useModelStore((s) => s.status);
  const phase = useRunStore((s) => s.view.phase);
  const busy = status.kind === 'loading' || phase === 'running' || phase === 'cancelling';
  return (
    <section className="card model" aria-labelledby="model-title" aria-busy={status.kind === 'loading'}>
      <h2 id="model-title">
        <span className="step">1</span> Model
      </h2>
      {status.kind === 'empty' && <Reopen onFiles={onFiles} disabled={busy} />}
      {status.kind === 'empty' && (
        <p className="lead">
          Drop a Hugging Face model folder anywhere on this page (config.json, tokenizer.json and the
          .safetensors files, sharded or not), choose it below, or start with a tiny demo model.
        </p>
      )}
      {status.kind === 'loading' && (
        <p className="loading">
          <span className="spinner" aria-hidden="true" /> {status.label}
        </p>
      )}
      {status.kind === 'error' && (
        <div className="problem" role="alert">
          <strong>Could not open {status.label}.</strong>
          <p data-testid="model-error">{status.message}</p>
        </div>
      )}
      {status.kind === 'ready' && <Summary summary={status.summary} />}
      <Pickers disabled={busy} onFiles={onFiles} />
    </section>
  );
}

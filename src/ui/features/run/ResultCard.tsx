import { useEffect, useState } from 'react';
import { listRunFiles } from '../../../browser/opfs';
import { sparsityOfAllLinears, useRunStore } from '../../../store/run';
import {
  errorMessage,
  formatBytes,
  formatMs,
  formatPercent,
  formatPerplexity,
  formatPerplexityChange,
} from '../../shared/format';
import { Note } from '../../shared/Note';
import { SaveButton } from '../output/SaveButton';
import { downloadRunFile, singleGguf } from '../output/save';

function Stat({
  label,
  value,
  note,
  testId,
}: {
  label: string;
  value: string;
  note?: string;
  testId?: string;
}) {
  return (
    <div className="stat">
      <span className="stat-label">{label}</span>
      <span className="stat-value">{value}</span>
      {note && (
        <span className="stat-note" data-testid={testId}>
          {note}
        </span>
      )}
    </div>
  );
}

/** "21.5 MiB → 6.1 MiB", "3.5× smaller": the input's weights against the output's. */
function SizeStat({ input, output, gguf }: { input: number; output: number; gguf: boolean }) {
  const ratio = input / output;
  const change = ratio >= 1 ? `${ratio.toFixed(1)}× smaller` : `${(1 / ratio).toFixed(1)}× larger`;
  return (
    <div className="stat" data-testid="size-result" data-input-bytes={input} data-output-bytes={output}>
      <span className="stat-label">{gguf ? 'Size (weights → .gguf)' : 'Size (weights)'}</span>
      <span className="stat-value">
        {formatBytes(input)} → {formatBytes(output)}
      </span>
      <span className="stat-note">{change}</span>
    </div>
  );
}

function useRunFiles(folder: string | undefined) {
  const [files, setFiles] = useState<Array<{ path: string; size: number }>>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    setFiles(undefined);
    setError(undefined);
    if (!folder) return;
    let live = true;
    listRunFiles(folder).then(
      (list) => live && setFiles(list.map(({ path, file }) => ({ path, size: file.size }))),
      (e: unknown) => live && setError(errorMessage(e)),
    );
    return () => {
      live = false;
    };
  }, [folder]);
  return { files, error };
}

/** "Q4_0 × 30, F16 × 5": the types the walk rounded the linears to (llama.cpp's recipe, with its fallbacks). */
function quantizedTypes(layers: Array<{ quantization?: string }>): string {
  const counts = new Map<string, number>();
  for (const layer of layers) {
    if (layer.quantization) counts.set(layer.quantization, (counts.get(layer.quantization) ?? 0) + 1);
  }
  return [...counts].map(([type, n]) => `${type} × ${n}`).join(', ');
}

export function ResultCard() {
  const view = useRunStore((s) => s.view);
  const done = view.phase === 'done' && view.result;
  const { files, error } = useRunFiles(done ? view.outputFolder : undefined);
  if (!done || !view.result || !view.outputFolder || !view.downloadName) return null;
  const { result } = view;
  const pruned = result.layers.filter((l) => !l.skipped).length;
  const skipped = result.layers.length - pruned;
  const dense = view.dense?.perplexity;
  const after = view.pruned?.perplexity;
  const change =
    dense !== undefined && after !== undefined ? formatPerplexityChange(dense, after) : undefined;
  const quantized = result.settings.quantization !== undefined && result.settings.quantization !== 'none';
  const total = files?.reduce((sum, f) => sum + f.size, 0);
  const gguf = files && singleGguf(files);
  // The weights against the weights: the GGUF file (its tokenizer included, as llama.cpp needs it), or the
  // folder's safetensors files (config and tokenizer files aside, as in the input's count).
  const outputBytes =
    gguf?.size ?? files?.filter((f) => f.path.endsWith('.safetensors')).reduce((sum, f) => sum + f.size, 0);
  return (
    <section className="card result" aria-labelledby="result-title">
      <h2 id="result-title">
        <span className="step">5</span> Result
      </h2>
      <div className="stats">
        <Stat
          label="Sparsity of pruned layers"
          value={formatPercent(result.overallSparsity)}
          note={`${formatPercent(sparsityOfAllLinears(result.layers))} of all linears`}
          testId="sparsity-all-linears"
        />
        <Stat
          label="Dense perplexity"
          value={formatPerplexity(dense)}
          note={dense === undefined ? 'no evaluation text' : undefined}
        />
        <Stat
          label="Pruned perplexity"
          value={formatPerplexity(after)}
          note={
            [
              change !== undefined ? `${change} vs dense` : undefined,
              // Our forward on the solver's dequantized linears; the GGUF writer then rounds the embeddings and
              // head too (round to nearest), which this figure leaves out (7e-4 apart on the demo at Q4_0).
              quantized && result.settings.format === 'gguf'
                ? 'float embeddings and head; the .gguf rounds them too'
                : undefined,
            ]
              .filter(Boolean)
              .join(' · ') || undefined
          }
        />
        <Stat
          label="Layers pruned"
          value={String(pruned)}
          note={skipped ? `${skipped} left dense` : undefined}
        />
        {quantized && (
          <Stat
            label="Quantization"
            value={`${result.settings.quantMethod === 'gptq' ? 'GPTQ' : 'RTN'} ${result.settings.quantization.toUpperCase()}`}
            note={quantizedTypes(result.layers)}
            testId="quantization-result"
          />
        )}
        {result.inputBytes !== undefined && outputBytes !== undefined && (
          <SizeStat input={result.inputBytes} output={outputBytes} gguf={gguf !== undefined} />
        )}
        <Stat label="Time" value={formatMs(result.totalMs)} />
      </div>
      {result.notes
        .filter((note) => !view.warnings.includes(note))
        .map((note) => (
          <Note key={note} text={note} />
        ))}
      <div className="download-row">
        <SaveButton
          runFolder={view.outputFolder}
          downloadName={view.downloadName}
          label="Download pruned model"
          primary
          singleFile={gguf !== undefined}
        />
        {gguf ? (
          <p className="hint">
            One file <code>{view.downloadName}.gguf</code> · {formatBytes(gguf.size)} · runs in llama.cpp,
            Ollama and LM Studio.
          </p>
        ) : (
          <p className="hint">
            Folder <code>{view.downloadName}</code>
            {total !== undefined ? ` · ${formatBytes(total)}` : ''} · same layout as the input, loads with
            transformers.
          </p>
        )}
      </div>
      {error && (
        <p className="problem-inline" role="alert">
          The output files could not be listed: {error}
        </p>
      )}
      {files && (
        <details className="files">
          <summary>{files.length} files</summary>
          <ul>
            {files.map((f) => (
              <li key={f.path}>
                <a
                  href={`#${f.path}`}
                  onClick={(e) => {
                    e.preventDefault();
                    void downloadRunFile(view.outputFolder as string, view.downloadName as string, f.path);
                  }}
                >
                  {f.path}
                </a>{' '}
                <span className="muted">{formatBytes(f.size)}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

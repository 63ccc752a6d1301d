/**
 * Renders pipeline events in a terminal: one table row per finished layer, and on a TTY a progress bar with ETA that
 * redraws in place on stderr (so stdout stays a clean table when redirected).
 */
import type { LayerResult, PruneEvent } from '../core/pipeline/types';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function progressBar(done: number, total: number, width = 30): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
}

const COLUMNS: Array<[string, number]> = [
  ['block', 5],
  ['layer', 22],
  ['shape', 11],
  ['target', 7],
  ['sparsity', 8],
  ['rel. error', 10],
  ['time', 8],
];

export function layerTableHeader(): string {
  return COLUMNS.map(([title, width], i) => (i < 2 ? title.padEnd(width) : title.padStart(width))).join('  ');
}

export function layerTableRow(layer: LayerResult): string {
  const cells = [
    String(layer.block),
    layer.name,
    `${layer.rows}x${layer.cols}`,
    layer.skipped || layer.target === undefined ? '-' : `${(layer.target * 100).toFixed(1)}%`,
    layer.skipped ? 'dense' : `${(layer.sparsity * 100).toFixed(1)}%`,
    layer.skipped ? '-' : layer.relativeError.toExponential(3),
    `${layer.ms.toFixed(0)}ms`,
  ];
  const row = cells.map((cell, i) => {
    const width = COLUMNS[i][1];
    return i < 2 ? cell.padEnd(width) : cell.padStart(width);
  });
  return row.join('  ') + (layer.skipped ? `  (${layer.skipped})` : '');
}

export interface EventPrinter {
  onEvent(event: PruneEvent): void;
  finish(): void;
}

export function createEventPrinter(
  out: NodeJS.WriteStream,
  err: NodeJS.WriteStream,
  quiet = false,
): EventPrinter {
  const live = Boolean(err.isTTY) && !quiet;
  let barShown = false;
  let headerPrinted = false;
  const clearBar = () => {
    if (barShown) err.write('\r\x1b[2K');
    barShown = false;
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'progress': {
          if (!live) return;
          const eta = event.etaSeconds === undefined ? '' : `  ETA ${formatDuration(event.etaSeconds)}`;
          err.write(`\r\x1b[2K${progressBar(event.done, event.total)}${eta}`);
          barShown = true;
          return;
        }
        case 'layer':
          clearBar();
          if (!headerPrinted) out.write(`${layerTableHeader()}\n`);
          headerPrinted = true;
          out.write(`${layerTableRow(event.layer)}\n`);
          return;
        case 'stage':
          clearBar();
          if (!quiet) err.write(`${event.message}\n`);
          return;
        case 'calibration':
          clearBar();
          err.write(
            `calibration: ${event.nsamples} samples x ${event.seqlen} tokens from a text of ${event.textTokens} tokens\n`,
          );
          for (const note of event.notes) err.write(`note: ${note}\n`);
          return;
        case 'warning':
          clearBar();
          err.write(`warning: ${event.message}\n`);
          return;
        case 'perplexity':
          clearBar();
          out.write(
            `${event.which} perplexity: ${event.perplexity.toFixed(4)} (mean NLL ${event.meanNll.toFixed(5)} over ${event.tokens} tokens)\n`,
          );
          return;
        case 'allocation': {
          clearBar();
          const { blockSparsity, outlierRatios } = event.allocation;
          err.write(`OWL allocation (block: outlier ratio → sparsity):\n`);
          for (const [block, sparsity] of blockSparsity.entries()) {
            err.write(
              `  ${String(block).padStart(4)}: ${(outlierRatios[block] * 100).toFixed(3)}% → ${(sparsity * 100).toFixed(2)}%\n`,
            );
          }
          return;
        }
        case 'block':
          return;
      }
    },
    finish: clearBar,
  };
}

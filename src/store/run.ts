/**
 * The run in progress (or the last one): pipeline events from the worker are folded into this state, which the
 * progress bar, the per-layer table, the error chart and the mask picture render.
 */
import { create } from 'zustand';
import type {
  BlockAllocation,
  LayerResult,
  MaskPreview,
  PerplexityResult,
  PruneEvent,
  PruneSettings,
  RunResult,
  RunStage,
} from '../core/pipeline/types';
import type { RunReply } from '../worker/api';
import type { JobHandle } from '../worker/client';
import type { RunRecord } from './history';

export type RunPhase = 'idle' | 'running' | 'cancelling' | 'done' | 'cancelled' | 'failed';

export interface CalibrationUsed {
  nsamples: number;
  seqlen: number;
  textTokens: number;
  notes: string[];
}

export interface PerplexityShown {
  perplexity: number;
  meanNll: number;
  /** Tokens scored; unknown for a run shown again from history. */
  tokens?: number;
}

export interface RunView {
  runId?: string;
  phase: RunPhase;
  modelName?: string;
  settings?: PruneSettings;
  startedAt?: number;
  finishedAt?: number;
  stage?: RunStage;
  stageMessage?: string;
  progress: { done: number; total: number; etaSeconds?: number };
  calibration?: CalibrationUsed;
  block?: { block: number; blocks: number };
  /** Finished layers in the order they finished, masks stripped (only the latest is kept, below). */
  layers: LayerResult[];
  latestMask?: { tensor: string; name: string; block: number; mask: MaskPreview };
  warnings: string[];
  /** The OWL allocation the run measured before pruning. */
  allocation?: BlockAllocation;
  dense?: PerplexityShown;
  pruned?: PerplexityShown;
  result?: RunResult;
  /** The OPFS folder holding this run's output, and the name it gets when downloaded. */
  outputFolder?: string;
  downloadName?: string;
  error?: string;
  /** Set when the view is a finished run shown again after a reload (from its history record). */
  restored?: boolean;
}

export const IDLE_RUN: RunView = { phase: 'idle', progress: { done: 0, total: 1 }, layers: [], warnings: [] };

export function startedRun(
  runId: string,
  modelName: string,
  settings: PruneSettings,
  outputFolder: string,
  downloadName: string,
  now: number,
): RunView {
  return {
    ...IDLE_RUN,
    runId,
    phase: 'running',
    modelName,
    settings,
    startedAt: now,
    outputFolder,
    downloadName,
    stageMessage: 'Starting…',
  };
}

/** Folds one pipeline event into the view. Pure, so the UI and the tests share it. */
export function applyEvent(view: RunView, event: PruneEvent): RunView {
  switch (event.type) {
    case 'stage':
      return { ...view, stage: event.stage, stageMessage: event.message };
    case 'calibration':
      return {
        ...view,
        calibration: {
          nsamples: event.nsamples,
          seqlen: event.seqlen,
          textTokens: event.textTokens,
          notes: event.notes,
        },
      };
    case 'block':
      return { ...view, block: { block: event.block, blocks: event.blocks } };
    case 'layer': {
      const { mask, ...layer } = event.layer;
      // A run resumed on a new device replays its finished layers: they replace their rows, never repeat them.
      const at = view.layers.findIndex((l) => l.tensor === layer.tensor);
      const layers = at < 0 ? [...view.layers, layer] : view.layers.map((l, i) => (i === at ? layer : l));
      return {
        ...view,
        layers,
        latestMask: mask
          ? { tensor: layer.tensor, name: layer.name, block: layer.block, mask }
          : view.latestMask,
      };
    }
    case 'warning':
      return view.warnings.includes(event.message)
        ? view
        : { ...view, warnings: [...view.warnings, event.message] };
    case 'progress':
      return { ...view, progress: { done: event.done, total: event.total, etaSeconds: event.etaSeconds } };
    case 'perplexity': {
      const shown = { perplexity: event.perplexity, meanNll: event.meanNll, tokens: event.tokens };
      return event.which === 'dense' ? { ...view, dense: shown } : { ...view, pruned: shown };
    }
    case 'allocation':
      return { ...view, allocation: event.allocation };
  }
}

function shownPerplexity(result: PerplexityResult | undefined): PerplexityShown | undefined {
  return result && { perplexity: result.perplexity, meanNll: result.meanNll, tokens: result.tokens };
}

export function finishedRun(view: RunView, result: RunResult, now: number): RunView {
  return {
    ...view,
    phase: 'done',
    finishedAt: now,
    result,
    stage: 'done',
    stageMessage: 'Done',
    progress: { done: view.progress.total, total: view.progress.total, etaSeconds: 0 },
    // The result's table is authoritative (it includes layers whose events might have been coalesced).
    layers: result.layers.map(({ mask: _mask, ...layer }) => layer),
    dense: shownPerplexity(result.dense) ?? view.dense,
    pruned: shownPerplexity(result.pruned) ?? view.pruned,
  };
}

/** A finished run as its history record keeps it, shown again after a reload. */
export function restoredRun(record: RunRecord): RunView {
  const shown = (perplexity: number | undefined) =>
    perplexity === undefined ? undefined : { perplexity, meanNll: Math.log(perplexity) };
  return {
    ...IDLE_RUN,
    runId: record.id,
    phase: 'done',
    restored: true,
    modelName: record.modelName,
    settings: record.settings,
    startedAt: record.createdAt,
    finishedAt: record.createdAt + record.totalMs,
    stage: 'done',
    stageMessage: 'Done',
    progress: { done: 1, total: 1, etaSeconds: 0 },
    calibration: record.calibration && { ...record.calibration, notes: [] },
    layers: record.layers,
    dense: shown(record.densePerplexity),
    pruned: shown(record.prunedPerplexity),
    result: {
      settings: record.settings,
      layers: record.layers,
      overallSparsity: record.overallSparsity,
      totalMs: record.totalMs,
      outputFiles: record.outputFiles,
      notes: record.notes ?? [],
    },
    outputFolder: record.outputFolder,
    downloadName: record.downloadName,
  };
}

// Zeros over all prunable weights of the model: one home in the core, which the sweep's exports use too.
export { sparsityOfAllLinears } from '../core/pipeline/sparsity-stats';

/** Fraction done in 0..1 for the progress bar. */
export function progressFraction(view: RunView): number {
  if (view.phase === 'done') return 1;
  const { done, total } = view.progress;
  return total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
}

/** The run the worker is doing now: how to cancel it, and where its finished blocks go. */
export interface ActiveRun {
  runId: string;
  progressFolder: string;
  handle: JobHandle<RunReply>;
}

export interface RunState {
  view: RunView;
  active?: ActiveRun;
  begin(view: RunView): void;
  setActive(active: ActiveRun | undefined): void;
  /** Shows a finished run again (after a reload), unless a run is going. */
  restore(view: RunView): void;
  /** Events are tagged with their run so that late ones from a cancelled run never reach the next. */
  event(runId: string, event: PruneEvent): void;
  cancelling(): void;
  finish(result: RunResult): void;
  cancelled(): void;
  failed(message: string): void;
  clear(): void;
}

export const useRunStore = create<RunState>((set, get) => {
  const isLive = (runId: string) => {
    const { view } = get();
    return view.runId === runId && (view.phase === 'running' || view.phase === 'cancelling');
  };
  return {
    view: IDLE_RUN,
    active: undefined,
    begin: (view) => set({ view }),
    setActive: (active) => set({ active }),
    restore: (view) => {
      if (get().view.phase === 'idle') set({ view });
    },
    event: (runId, event) => {
      if (isLive(runId)) set({ view: applyEvent(get().view, event) });
    },
    cancelling: () => set({ view: { ...get().view, phase: 'cancelling', stageMessage: 'Stopping…' } }),
    finish: (result) => set({ view: finishedRun(get().view, result, Date.now()) }),
    cancelled: () =>
      set({ view: { ...get().view, phase: 'cancelled', finishedAt: Date.now(), stageMessage: 'Cancelled' } }),
    failed: (message) =>
      set({
        view: {
          ...get().view,
          phase: 'failed',
          finishedAt: Date.now(),
          error: message,
          stageMessage: 'Failed',
        },
      }),
    clear: () => set({ view: IDLE_RUN }),
  };
});

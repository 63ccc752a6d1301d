/**
 * A pruning run: started from the settings card (or by a resume), followed through the worker's events into the
 * run store, and on success recorded in history and opened in the explorer. The unfinished-run record written at
 * the start is what lets a reload or a lost device resume it.
 */
import { removeProgressFolder, removeRunFolder } from '../../../browser/opfs';
import type { PruneSettings } from '../../../core/pipeline/types';
import { useExplorerStore } from '../../../store/explorer';
import type { RunRecord } from '../../../store/history';
import { readySummary, useModelStore } from '../../../store/model';
import { startedRun, useRunStore } from '../../../store/run';
import { recordedModel } from '../../../store/session';
import { settingsProblems, useSettingsStore } from '../../../store/settings';
import { sweepBusy, useSweepStore } from '../../../store/sweep';
import { type TextSource, useTextsStore } from '../../../store/texts';
import { UNFINISHED_RUN_VERSION, unfinishedRuns } from '../../../store/unfinished';
import type { RunReply } from '../../../worker/api';
import { isCancelled } from '../../../worker/client';
import { pruner } from '../../pruner';
import { errorMessage, outputFolderName } from '../../shared/format';
import { openExplorer } from '../explorer/actions';
import { recordRun } from '../history/actions';
import { discardUnfinished, offerUnfinishedRun } from '../resume/offer';
import { pruneBlocker } from './blocker';

export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${stamp}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Why Prune cannot start now, from the stores; undefined when it can. */
export function currentPruneBlocker(): string | undefined {
  const model = useModelStore.getState().status;
  const texts = useTextsStore.getState();
  return pruneBlocker({
    model,
    calibration: texts.calibration.text,
    fileError: texts.fileError,
    settingsProblems: settingsProblems(useSettingsStore.getState().settings, readySummary(model)),
    // A sweep's queue holds Prune between its points too.
    phase: sweepBusy(useSweepStore.getState().phase) ? 'running' : useRunStore.getState().view.phase,
  });
}

function recordOf(runId: string, settings: PruneSettings, reply: RunReply, written: boolean): RunRecord {
  const { view } = useRunStore.getState();
  const summary = readySummary(useModelStore.getState().status);
  const { result } = reply;
  return {
    id: runId,
    createdAt: view.startedAt ?? Date.now(),
    modelName: view.modelName ?? summary?.name ?? 'model',
    parameters: summary?.parameters,
    settings,
    layers: result.layers.map(({ mask: _mask, ...layer }) => layer),
    densePerplexity: result.dense?.perplexity,
    prunedPerplexity: result.pruned?.perplexity,
    overallSparsity: result.overallSparsity,
    totalMs: result.totalMs,
    calibration: view.calibration && {
      nsamples: view.calibration.nsamples,
      seqlen: view.calibration.seqlen,
      textTokens: view.calibration.textTokens,
    },
    notes: result.notes,
    outputFolder: view.outputFolder ?? runId,
    outputFiles: result.outputFiles,
    downloadName: view.downloadName ?? runId,
    outputKept: written,
  };
}

export async function startRun(): Promise<void> {
  const blocker = currentPruneBlocker();
  if (blocker) throw new Error(blocker);
  // A new run replaces an unfinished one the page offered to resume.
  await discardUnfinished();
  const { calibration, evaluation } = useTextsStore.getState();
  const runId = newRunId();
  await launchRun({
    runId,
    settings: structuredClone(useSettingsStore.getState().settings),
    calibration,
    evaluation,
    progressFolder: runId,
  });
}

export interface Launch {
  runId: string;
  settings: PruneSettings;
  calibration: TextSource;
  evaluation: TextSource;
  /** Where finished blocks are saved; a resumed run names the folder of the run it continues. */
  progressFolder: string;
  /** False for a run that is only measured (a sweep's point): no model written, no explorer kept. */
  writeModel?: boolean;
}

/** Kept for a later resume: the GPU device gave out beyond the retries, or the worker died under the run. */
function resumable(error: unknown, stoppedByUser: boolean): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'DeviceLostError' || (error.name === 'WorkerStoppedError' && !stoppedByUser);
}

export async function launchRun({
  runId,
  settings,
  calibration,
  evaluation,
  progressFolder,
  writeModel = true,
}: Launch): Promise<RunReply | undefined> {
  const summary = readySummary(useModelStore.getState().status);
  const model = recordedModel(useModelStore.getState().status);
  if (!summary || !model) return undefined;
  const runs = useRunStore.getState();
  runs.begin(
    startedRun(runId, summary.name, settings, runId, outputFolderName(summary.name, settings), Date.now()),
  );
  useExplorerStore.getState().close();
  await unfinishedRuns
    .write({
      version: UNFINISHED_RUN_VERSION,
      runId,
      progressFolder,
      startedAt: Date.now(),
      model,
      blocks: summary.layers,
      settings,
      calibration,
      evaluation,
    })
    .catch(() => undefined); // no IndexedDB (private mode): the run still works, it just cannot be resumed
  const handle = pruner.prune(
    {
      runId,
      settings,
      calibration: calibration.text,
      evaluation: evaluation.text.trim() ? evaluation.text : undefined,
      ...(writeModel && { outputFolder: runId }),
      progressFolder,
    },
    (events) => {
      for (const event of events) useRunStore.getState().event(runId, event);
    },
  );
  runs.setActive({ runId, progressFolder, handle });
  try {
    const reply = await handle.done;
    await unfinishedRuns.clear(progressFolder).catch(() => undefined);
    useRunStore.getState().finish(reply.result);
    if (writeModel) {
      openExplorer(runId, reply.explorerLayers, {
        method: settings.method,
        sparsity: settings.sparsity,
        pattern: settings.pattern,
      });
    }
    await recordRun(recordOf(runId, settings, reply, writeModel));
    return reply;
  } catch (error) {
    await runFailed(error, runId, progressFolder);
    return undefined;
  } finally {
    if (useRunStore.getState().active?.runId === runId) useRunStore.getState().setActive(undefined);
  }
}

async function runFailed(error: unknown, runId: string, progressFolder: string): Promise<void> {
  const runs = useRunStore.getState();
  const stoppedByUser = runs.view.phase === 'cancelling';
  const keep = resumable(error, stoppedByUser);
  // "Stop now" ends a cancel the user asked for by terminating the worker: still a cancel, not an error.
  const stoppedNow = stoppedByUser && error instanceof Error && error.name === 'WorkerStoppedError';
  if (isCancelled(error) || stoppedNow) runs.cancelled();
  else if (keep) {
    runs.failed(`${errorMessage(error)} The finished blocks are kept: press Resume to go on.`);
    await offerUnfinishedRun();
  } else runs.failed(errorMessage(error));
  if (!keep) {
    await unfinishedRuns.clear(progressFolder).catch(() => undefined);
    // The worker removes it too, unless it died (a stop at once).
    await removeProgressFolder(progressFolder).catch(() => undefined);
  }
  // A cancelled or failed run leaves no half-written model behind (the worker removes it too, unless it died).
  await removeRunFolder(runId).catch(() => undefined);
}

export function cancelRun(): void {
  const { active } = useRunStore.getState();
  if (!active) return;
  useRunStore.getState().cancelling();
  void active.handle.cancel();
}

/** For a layer so big that waiting for it to finish is too long: terminates the worker (the model is reopened). */
export function stopRunNow(): void {
  useRunStore.getState().active?.handle.stopNow();
}

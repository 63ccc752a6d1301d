/**
 * What the page's buttons do: each action talks to the worker through the client and records the outcome in the
 * stores. Components call these and render the stores; none of them touches the worker directly.
 */
import { DEMO_MODEL } from '../core/io/fetch-folder';
import type { PruneSettings } from '../core/pipeline/types';
import { type ExplorerControls, useExplorerStore } from '../store/explorer';
import { type RunRecord, useHistoryStore } from '../store/history';
import { type ModelSource, readySummary, useModelStore } from '../store/model';
import { startedRun, useRunStore } from '../store/run';
import { settingsProblems, useSettingsStore } from '../store/settings';
import { useTextsStore } from '../store/texts';
import type { CurvePoint, ModelFileInput, RunReply } from '../worker/api';
import { createPrunerClient, isCancelled, isSuperseded, type RunHandle } from '../worker/client';
import { removeRunFolder } from '../worker/opfs';
import { bundledTexts, type CollectedFiles, isTextOnly } from './drop';
import { errorMessage, outputFolderName } from './format';
import { readTextInput } from './text-file';

export const pruner = createPrunerClient();

/** Shown in a banner when the worker had to be replaced (it crashed, or a run was stopped at once). */
export const restartNotices = new Set<(message: string) => void>();
pruner.onRestart((reason) => {
  for (const notify of restartNotices) notify(reason);
});

let started = false;

export function initApp(setGpuReport: (report: Awaited<ReturnType<typeof pruner.probeGpu>>) => void): void {
  if (started) return;
  started = true;
  pruner
    .probeGpu()
    .then(setGpuReport, (error: unknown) => setGpuReport({ ok: false, error: errorMessage(error) }));
  void useSettingsStore.getState().load();
  void useHistoryStore.getState().load();
}

// ——— model ———

async function fetchBlob(url: URL, what: string): Promise<Blob> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`Could not download ${what} (${errorMessage(error)}). Is the page still being served?`);
  }
  if (!response.ok) throw new Error(`Could not download ${what}: the server answered ${response.status}.`);
  return response.blob();
}

export async function loadDemoModel(): Promise<void> {
  const generation = useModelStore.getState().loading('Downloading the demo model…');
  try {
    const base = new URL(DEMO_MODEL.path, document.baseURI);
    const [files, calibration, evaluation] = await Promise.all([
      Promise.all(
        DEMO_MODEL.files.map(
          async (path): Promise<ModelFileInput> => ({
            path,
            file: await fetchBlob(new URL(path, base), path),
          }),
        ),
      ),
      fetchBlob(new URL(DEMO_MODEL.calibrationText, base), DEMO_MODEL.calibrationText).then((b) => b.text()),
      fetchBlob(new URL(DEMO_MODEL.evaluationText, base), DEMO_MODEL.evaluationText).then((b) => b.text()),
    ]);
    const texts = useTextsStore.getState();
    texts.setCalibration({ text: calibration, origin: `the demo's ${DEMO_MODEL.calibrationText}` });
    texts.setEvaluation({ text: evaluation, origin: `the demo's ${DEMO_MODEL.evaluationText}` });
    await openModel(DEMO_MODEL.name, files, 'demo', generation);
  } catch (error) {
    useModelStore.getState().failed(generation, errorMessage(error), DEMO_MODEL.name);
  }
}

async function openModel(
  name: string | undefined,
  files: ModelFileInput[],
  source: ModelSource,
  generation: number,
): Promise<void> {
  const models = useModelStore.getState();
  useExplorerStore.getState().close();
  try {
    const summary = await pruner.openModel(name ?? '', files);
    models.ready(generation, summary, source);
  } catch (error) {
    models.failed(generation, errorMessage(error), name ?? 'the dropped files');
  }
}

async function applyTextFile(file: ModelFileInput, which: 'calibration' | 'evaluation'): Promise<void> {
  const texts = useTextsStore.getState();
  try {
    const text = await readTextInput(file.file, file.path);
    if (which === 'calibration') texts.setCalibration({ text, origin: file.path });
    else texts.setEvaluation({ text, origin: file.path });
  } catch (error) {
    texts.setFileError({ which, message: errorMessage(error) });
  }
}

/** A drop or pick anywhere on the page: text files become the calibration text, anything else a model. */
export async function openCollected(collected: CollectedFiles): Promise<void> {
  if (isTextOnly(collected)) {
    await applyTextFile(collected.files[0], 'calibration');
    return;
  }
  const label =
    collected.folderName ?? `${collected.files.length} file${collected.files.length === 1 ? '' : 's'}`;
  const generation = useModelStore.getState().loading(`Reading ${label}…`);
  const texts = bundledTexts(collected);
  if (texts.calibration) await applyTextFile(texts.calibration, 'calibration');
  if (texts.evaluation) await applyTextFile(texts.evaluation, 'evaluation');
  await openModel(collected.folderName, collected.files, 'files', generation);
}

export async function openTextFile(file: File, which: 'calibration' | 'evaluation'): Promise<void> {
  await applyTextFile({ path: file.name, file }, which);
}

export function reportDropError(error: unknown): void {
  const generation = useModelStore.getState().loading('Reading the drop…');
  useModelStore.getState().failed(generation, errorMessage(error), 'the drop');
}

// ——— run ———

let active: { runId: string; handle: RunHandle } | undefined;

function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${stamp}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Why Prune cannot start now, in words; undefined when it can. */
export function pruneBlocker(): string | undefined {
  const status = useModelStore.getState().status;
  if (status.kind !== 'ready') return 'Open a model first (drop a folder or try the demo model).';
  if (!useTextsStore.getState().calibration.text.trim()) return 'Add a calibration text first.';
  const problems = settingsProblems(useSettingsStore.getState().settings, status.summary.maxPositions);
  if (problems.length > 0) return problems[0];
  const phase = useRunStore.getState().view.phase;
  if (phase === 'running' || phase === 'cancelling') return 'A run is in progress.';
  return undefined;
}

function recordOf(runId: string, settings: PruneSettings, reply: RunReply): RunRecord {
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
    outputFolder: view.outputFolder ?? runId,
    outputFiles: result.outputFiles,
    downloadName: view.downloadName ?? runId,
    outputKept: true,
  };
}

export async function startRun(): Promise<void> {
  const blocker = pruneBlocker();
  if (blocker) throw new Error(blocker);
  const summary = readySummary(useModelStore.getState().status);
  if (!summary) return;
  const settings = structuredClone(useSettingsStore.getState().settings);
  const { calibration, evaluation } = useTextsStore.getState();
  const runId = newRunId();
  const downloadName = outputFolderName(summary.name, settings);
  const runs = useRunStore.getState();
  runs.begin(startedRun(runId, summary.name, settings, runId, downloadName, Date.now()));
  useExplorerStore.getState().close();
  const handle = pruner.prune(
    {
      runId,
      settings,
      calibration: calibration.text,
      evaluation: evaluation.text.trim() ? evaluation.text : undefined,
      outputFolder: runId,
    },
    (events) => {
      for (const event of events) useRunStore.getState().event(runId, event);
    },
  );
  active = { runId, handle };
  try {
    const reply = await handle.done;
    useRunStore.getState().finish(reply.result);
    const controls: ExplorerControls = {
      method: settings.method,
      sparsity: settings.sparsity,
      pattern: settings.pattern,
    };
    if (reply.explorerLayers.length > 0) {
      useExplorerStore.getState().open(runId, reply.explorerLayers, controls);
      refreshExplorer();
    }
    const toRemove = await useHistoryStore.getState().add(recordOf(runId, settings, reply));
    for (const record of toRemove) {
      await removeRunFolder(record.outputFolder).catch(() => undefined);
    }
  } catch (error) {
    if (isCancelled(error)) useRunStore.getState().cancelled();
    else useRunStore.getState().failed(errorMessage(error));
    // A cancelled or failed run leaves no half-written model behind (the worker removes it too, unless it died).
    await removeRunFolder(runId).catch(() => undefined);
  } finally {
    if (active?.runId === runId) active = undefined;
  }
}

export function cancelRun(): void {
  if (!active) return;
  useRunStore.getState().cancelling();
  void active.handle.cancel();
}

/** For a layer so big that waiting for it to finish is too long: terminates the worker (the model is reopened). */
export function stopRunNow(): void {
  active?.handle.stopNow();
}

// ——— layer explorer ———

export const CURVE_SPARSITIES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

function probe(request: number): void {
  const { selected, controls } = useExplorerStore.getState();
  if (!selected) return;
  pruner.probeLayer({ tensor: selected, ...controls }).then(
    (reply) => useExplorerStore.getState().answered(request, selected, controls, reply),
    (error: unknown) => {
      if (!isSuperseded(error)) useExplorerStore.getState().failed(request, errorMessage(error));
    },
  );
}

let curveGeneration = 0;

/**
 * The curve is measured one sparsity at a time (three re-prunings each), drawn as it grows. Between points the
 * worker's queue is free for the slider's probes, so dragging stays live while the curve fills in.
 */
function loadCurve(tensor: string): void {
  const generation = ++curveGeneration;
  const points: CurvePoint[] = [];
  const next = (index: number): void => {
    const stale = generation !== curveGeneration || useExplorerStore.getState().selected !== tensor;
    if (stale || index >= CURVE_SPARSITIES.length) return;
    pruner.errorCurve(tensor, [CURVE_SPARSITIES[index]]).then(
      ([point]) => {
        if (generation !== curveGeneration) return;
        points.push(point);
        useExplorerStore.getState().setCurve(tensor, [...points]);
        next(index + 1);
      },
      (error: unknown) => {
        if (!isSuperseded(error) && generation === curveGeneration)
          useExplorerStore.getState().failed(useExplorerStore.getState().request, errorMessage(error));
      },
    );
  };
  next(0);
}

function refreshExplorer(): void {
  const { selected } = useExplorerStore.getState();
  if (!selected) return;
  probe(useExplorerStore.getState().select(selected));
  loadCurve(selected);
}

export function exploreLayer(tensor: string): void {
  probe(useExplorerStore.getState().select(tensor));
  loadCurve(tensor);
}

export function changeExplorerControls(patch: Partial<ExplorerControls>): void {
  probe(useExplorerStore.getState().setControls(patch));
}

// ——— history ———

export async function removeHistoryRun(record: RunRecord): Promise<void> {
  if (record.outputKept) await removeRunFolder(record.outputFolder).catch(() => undefined);
  await useHistoryStore.getState().remove(record.id);
}

export async function removeHistoryOutput(record: RunRecord): Promise<void> {
  await removeRunFolder(record.outputFolder).catch(() => undefined);
  await useHistoryStore.getState().markOutputRemoved(record.id);
}

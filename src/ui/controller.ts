/**
 * What the page's buttons do: each action talks to the worker through the client and records the outcome in the
 * stores. Components call these and render the stores; none of them touches the worker directly.
 */
import { DEMO_MODEL } from '../core/io/fetch-folder';
import type { PruneSettings } from '../core/pipeline/types';
import { readTextInput } from '../core/text/text-file';
import { type ExplorerControls, useExplorerStore } from '../store/explorer';
import { type RunRecord, useHistoryStore } from '../store/history';
import { type ModelSource, readySummary, useModelStore } from '../store/model';
import { startedRun, useRunStore } from '../store/run';
import { patternChoice, settingsProblems, useSettingsStore } from '../store/settings';
import { type TextSource, useTextsStore } from '../store/texts';
import {
  compareModelFiles,
  modelMismatch,
  type RecordedModel,
  type ResumeOffer,
  UNFINISHED_RUN_VERSION,
  unfinishedRuns,
  useResumeStore,
} from '../store/unfinished';
import type { CurvePoint, ModelFileInput, RunReply } from '../worker/api';
import { createPrunerClient, isCancelled, isSuperseded, type RunHandle } from '../worker/client';
import { countSavedBlocks, listProgressFolders, removeProgressFolder, removeRunFolder } from '../worker/opfs';
import { bundledTexts, type CollectedFiles, isTextOnly } from './drop';
import { errorMessage, outputFolderName } from './format';

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
  void offerUnfinishedRun();
  installTestHooks();
}

/**
 * Pages opened with ?test-hooks get window.sparsegptTestHooks, which the end-to-end tests use to destroy the GPU
 * device mid-run. Nothing else in the app uses it.
 */
function installTestHooks(): void {
  if (!new URLSearchParams(location.search).has('test-hooks')) return;
  Object.assign(window, { sparsegptTestHooks: { loseDevice: () => pruner.debugLoseDevice() } });
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

/** What the open model was made of, so that a run can record it and a resume can recognise it. */
let openedModel: { name: string | undefined; files: ModelFileInput[]; source: ModelSource } | undefined;

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
    if (generation === useModelStore.getState().generation) openedModel = { name, files, source };
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
  if (useResumeStore.getState().status === 'needs-files') {
    await resumeWithFiles(collected);
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

let active: { runId: string; progressFolder: string; handle: RunHandle } | undefined;

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

interface Launch {
  runId: string;
  settings: PruneSettings;
  calibration: TextSource;
  evaluation: TextSource;
  /** Where finished blocks are saved; a resumed run names the folder of the run it continues. */
  progressFolder: string;
}

function recordedModel(): RecordedModel | undefined {
  const summary = readySummary(useModelStore.getState().status);
  if (!summary || !openedModel) return undefined;
  const { fingerprint } = summary;
  if (openedModel.source === 'demo') return { kind: 'demo', name: summary.name, fingerprint };
  return {
    kind: 'files',
    fingerprint,
    name: summary.name,
    folderName: openedModel.name,
    files: openedModel.files.map(({ path, file }) => ({ path, size: file.size })),
  };
}

/** Kept for a later resume: the GPU device gave out beyond the retries, or the worker died under the run. */
function resumable(error: unknown, stoppedByUser: boolean): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'DeviceLostError' || (error.name === 'WorkerStoppedError' && !stoppedByUser);
}

async function launchRun({
  runId,
  settings,
  calibration,
  evaluation,
  progressFolder,
}: Launch): Promise<void> {
  const summary = readySummary(useModelStore.getState().status);
  const model = recordedModel();
  if (!summary || !model) return;
  const downloadName = outputFolderName(summary.name, settings);
  useRunStore.getState().begin(startedRun(runId, summary.name, settings, runId, downloadName, Date.now()));
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
      outputFolder: runId,
      progressFolder,
    },
    (events) => {
      for (const event of events) useRunStore.getState().event(runId, event);
    },
  );
  active = { runId, progressFolder, handle };
  try {
    const reply = await handle.done;
    await unfinishedRuns.clear(progressFolder).catch(() => undefined);
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
    const stoppedByUser = useRunStore.getState().view.phase === 'cancelling';
    if (isCancelled(error)) useRunStore.getState().cancelled();
    else if (resumable(error, stoppedByUser)) {
      useRunStore
        .getState()
        .failed(`${errorMessage(error)} The finished blocks are kept: press Resume to go on.`);
      await offerUnfinishedRun();
    } else useRunStore.getState().failed(errorMessage(error));
    if (!resumable(error, stoppedByUser)) {
      await unfinishedRuns.clear(progressFolder).catch(() => undefined);
      // The worker removes it too, unless it died (a stop at once).
      await removeProgressFolder(progressFolder).catch(() => undefined);
    }
    // A cancelled or failed run leaves no half-written model behind (the worker removes it too, unless it died).
    await removeRunFolder(runId).catch(() => undefined);
  } finally {
    if (active?.runId === runId) active = undefined;
  }
}

// ——— resuming an unfinished run ———

/**
 * Offers the recorded unfinished run when its saved blocks are still in storage, forgets it otherwise, and removes
 * saved blocks no record points to (left by runs stopped at once or by older pages).
 */
export async function offerUnfinishedRun(): Promise<void> {
  const run = await unfinishedRuns.read();
  const doneBlocks = run ? await countSavedBlocks(run.progressFolder).catch(() => undefined) : undefined;
  if (run && doneBlocks === undefined) await unfinishedRuns.clear(run.progressFolder).catch(() => undefined);
  // The interrupted run's half-written output is of no use: a resumed run writes a new one.
  if (run && run.runId !== active?.runId) await removeRunFolder(run.runId).catch(() => undefined);
  const recorded = run && doneBlocks !== undefined ? run.progressFolder : undefined;
  for (const folder of await listProgressFolders().catch(() => [])) {
    // The run in progress (possibly started while this looked) keeps its folder.
    if (folder === recorded || folder === active?.progressFolder) continue;
    await removeProgressFolder(folder).catch(() => undefined);
  }
  if (run && doneBlocks !== undefined) useResumeStore.getState().offerRun({ run, doneBlocks });
  else useResumeStore.getState().withdraw();
}

export async function discardUnfinished(): Promise<void> {
  const offer = useResumeStore.getState().offer;
  useResumeStore.getState().withdraw();
  if (!offer) return;
  await unfinishedRuns.clear(offer.run.progressFolder).catch(() => undefined);
  await removeProgressFolder(offer.run.progressFolder).catch(() => undefined);
}

function applySettings(settings: PruneSettings): void {
  const store = useSettingsStore.getState();
  const choice = patternChoice(settings.pattern);
  if (choice === 'custom' && settings.pattern !== 'unstructured') store.setCustom({ ...settings.pattern });
  store.choosePattern(choice);
  store.update(structuredClone(settings));
}

async function resumeOpenedModel(offer: ResumeOffer): Promise<void> {
  const { run } = offer;
  const resume = useResumeStore.getState();
  const summary = readySummary(useModelStore.getState().status);
  if (!summary) {
    resume.setStatus('offered', 'The model could not be opened; see the model card.');
    return;
  }
  const mismatch = modelMismatch(run, summary);
  if (mismatch) {
    resume.setStatus(run.model.kind === 'files' ? 'needs-files' : 'offered', mismatch);
    return;
  }
  applySettings(run.settings);
  const texts = useTextsStore.getState();
  texts.setCalibration(run.calibration);
  texts.setEvaluation(run.evaluation);
  resume.withdraw();
  await launchRun({
    runId: newRunId(),
    settings: run.settings,
    calibration: run.calibration,
    evaluation: run.evaluation,
    progressFolder: run.progressFolder,
  });
}

/** Resume: the demo is fetched again; dropped files must be given again unless the same ones are open now. */
export async function resumeUnfinished(): Promise<void> {
  const offer = useResumeStore.getState().offer;
  const phase = useRunStore.getState().view.phase;
  if (!offer || phase === 'running' || phase === 'cancelling') return;
  const { model } = offer.run;
  if (model.kind === 'demo') {
    useResumeStore.getState().setStatus('resuming');
    await loadDemoModel();
    await resumeOpenedModel(offer);
    return;
  }
  const open = openedModel?.source === 'files' ? openedModel.files : undefined;
  const sameFiles =
    open &&
    compareModelFiles(
      model.files,
      open.map((f) => ({ path: f.path, size: f.file.size })),
    ).length === 0;
  if (sameFiles) {
    useResumeStore.getState().setStatus('resuming');
    await resumeOpenedModel(offer);
  } else useResumeStore.getState().setStatus('needs-files');
}

/** The folder the user picked or dropped for a resume: checked against the recorded names and sizes first. */
export async function resumeWithFiles(collected: CollectedFiles): Promise<void> {
  const offer = useResumeStore.getState().offer;
  if (offer?.run.model.kind !== 'files') return;
  const picked = collected.files.map((f) => ({ path: f.path, size: f.file.size }));
  const problems = compareModelFiles(offer.run.model.files, picked);
  if (problems.length > 0) {
    const shown =
      problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; and ${problems.length - 3} more` : '');
    useResumeStore
      .getState()
      .setStatus(
        'needs-files',
        `These are not the files the run used (${shown}). Pick ${offer.run.model.name} again.`,
      );
    return;
  }
  useResumeStore.getState().setStatus('resuming');
  const generation = useModelStore.getState().loading(`Reading ${collected.folderName ?? 'the files'}…`);
  await openModel(collected.folderName, collected.files, 'files', generation);
  await resumeOpenedModel(offer);
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

/**
 * What the page does once when it opens: looks for a GPU, reads what it keeps across reloads (settings, history,
 * an unfinished run, the model and result of the last visit) and comes back to where the user was.
 */
import { useAppStore } from '../../store/app';
import { useGpuStore } from '../../store/gpu';
import { useHistoryStore } from '../../store/history';
import { useModelStore } from '../../store/model';
import { restoredRun, useRunStore } from '../../store/run';
import { lastSession, recordedModel, useSessionStore } from '../../store/session';
import { useSettingsStore } from '../../store/settings';
import { reopenExplorer } from '../features/explorer/actions';
import { loadDemoModel } from '../features/model/actions';
import { offerUnfinishedRun } from '../features/resume/offer';
import { pruner } from '../pruner';
import { errorMessage } from '../shared/format';

export function initApp(): void {
  if (!useAppStore.getState().start()) return;
  const gpu = useGpuStore.getState();
  pruner
    .probeGpu()
    .then(gpu.setReport, (error: unknown) => gpu.setReport({ ok: false, error: errorMessage(error) }));
  void useSettingsStore.getState().load();
  void offerUnfinishedRun();
  rememberSession();
  void comeBack();
  installTestHooks();
}

/** The last visit's result (from history) and model: the demo reopens by itself, a dropped folder is asked for. */
async function comeBack(): Promise<void> {
  const [session] = await Promise.all([lastSession.read(), useHistoryStore.getState().load()]);
  // A run whose files were since freed stays in history only: the result card is for a model one can save.
  const record = useHistoryStore.getState().runs.find((r) => r.id === session.runId && r.outputKept);
  if (record && useRunStore.getState().view.phase === 'idle') {
    useRunStore.getState().restore(restoredRun(record));
    useSessionStore.getState().setExplorerRun({ runId: record.id, modelName: record.modelName });
  }
  if (useModelStore.getState().status.kind !== 'empty') return;
  if (session.model?.kind === 'demo') await loadDemoModel();
  else if (session.model?.kind === 'files') useSessionStore.getState().setReopen(session.model);
}

/** From now on, what is opened and finished is what the next visit comes back to. */
function rememberSession(): void {
  useModelStore.subscribe(({ status }, previous) => {
    if (status === previous.status || status.kind !== 'ready') return;
    const session = useSessionStore.getState();
    session.setReopen(undefined);
    void lastSession.save({ model: recordedModel(status) });
    const pending = session.explorerRun;
    session.setExplorerRun(undefined);
    const shown = useRunStore.getState().view;
    if (
      pending &&
      pending.modelName === status.summary.name &&
      shown.runId === pending.runId &&
      shown.settings
    ) {
      const { method, sparsity, pattern } = shown.settings;
      void reopenExplorer(pending.runId, { method, sparsity, pattern });
    }
  });
  useRunStore.subscribe(({ view }, previous) => {
    if (view.phase === 'done' && !view.restored && previous.view.phase !== 'done') {
      void lastSession.save({ runId: view.runId });
    }
  });
}

/**
 * Pages opened with ?test-hooks get window.sparsegptTestHooks, which the end-to-end tests use to destroy the GPU
 * device mid-run. Nothing else in the app uses it.
 */
function installTestHooks(): void {
  if (!new URLSearchParams(location.search).has('test-hooks')) return;
  Object.assign(window, { sparsegptTestHooks: { loseDevice: () => pruner.debugLoseDevice() } });
}

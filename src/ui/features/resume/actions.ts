/**
 * Resuming an unfinished run: the demo is fetched again; dropped files must be given again (the browser keeps no
 * access to them across a reload) unless the same ones are open now, and are checked against the recorded ones.
 */
import type { PruneSettings } from '../../../core/pipeline/types';
import { openedFiles, readySummary, useModelStore } from '../../../store/model';
import { useRunStore } from '../../../store/run';
import { patternChoice, useSettingsStore } from '../../../store/settings';
import { useTextsStore } from '../../../store/texts';
import {
  compareModelFiles,
  modelMismatch,
  type ResumeOffer,
  useResumeStore,
} from '../../../store/unfinished';
import { loadDemoModel, openModel } from '../model/actions';
import type { CollectedFiles } from '../model/drop';
import { launchRun, newRunId } from '../run/actions';

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
  const open = openedFiles(useModelStore.getState().status);
  const sameFiles =
    open?.source === 'files' &&
    compareModelFiles(
      model.files,
      open.files.map((f) => ({ path: f.path, size: f.file.size })),
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
  const label = collected.folderName ?? 'the files';
  const generation = useModelStore.getState().loading(`Reading ${label}…`);
  await openModel(
    { folderName: collected.folderName, files: collected.files, source: 'files' },
    generation,
    label,
  );
  await resumeOpenedModel(offer);
}

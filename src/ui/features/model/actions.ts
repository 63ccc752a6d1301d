/** Opening a model: the bundled demo (fetched), or a folder or files the user dropped or picked. */
import { DEMO_MODEL } from '../../../core/io/fetch-folder';
import { useExplorerStore } from '../../../store/explorer';
import { type OpenedFiles, useModelStore } from '../../../store/model';
import { useTextsStore } from '../../../store/texts';
import type { ModelFileInput } from '../../../worker/api';
import { pruner } from '../../pruner';
import { errorMessage } from '../../shared/format';
import { applyTextFile } from '../texts/actions';
import { bundledTexts, type CollectedFiles, collectedLabel, type HowGiven, notAModel } from './drop';

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

/**
 * Opens the model in the worker and records what it was made of. Resolves true when this load is the one the
 * page shows (a newer load started meanwhile wins).
 */
export async function openModel(opened: OpenedFiles, generation: number, label: string): Promise<boolean> {
  const models = useModelStore.getState();
  useExplorerStore.getState().close();
  try {
    const summary = await pruner.openModel(opened.folderName ?? '', opened.files);
    models.ready(generation, summary, opened);
  } catch (error) {
    models.failed(generation, errorMessage(error), label);
  }
  return (
    generation === useModelStore.getState().generation && useModelStore.getState().status.kind === 'ready'
  );
}

export async function loadDemoModel(): Promise<boolean> {
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
    return await openModel(
      { folderName: DEMO_MODEL.name, files, source: 'demo' },
      generation,
      DEMO_MODEL.name,
    );
  } catch (error) {
    useModelStore.getState().failed(generation, errorMessage(error), DEMO_MODEL.name);
    return false;
  }
}

/** A model folder or files: texts bundled with it (the demo's) are taken too. */
export async function openModelFiles(collected: CollectedFiles, how: HowGiven): Promise<boolean> {
  const label = collectedLabel(collected);
  const generation = useModelStore.getState().loading(`Reading ${label}…`);
  const problem = notAModel(collected, how);
  if (problem) {
    useModelStore.getState().failed(generation, problem, label);
    return false;
  }
  const texts = bundledTexts(collected);
  if (texts.calibration) await applyTextFile(texts.calibration, 'calibration');
  if (texts.evaluation) await applyTextFile(texts.evaluation, 'evaluation');
  return openModel(
    { folderName: collected.folderName, files: collected.files, source: 'files' },
    generation,
    label,
  );
}

export function reportDropError(error: unknown): void {
  const generation = useModelStore.getState().loading('Reading the drop…');
  useModelStore.getState().failed(generation, errorMessage(error), 'the drop');
}

/** Calibration and evaluation texts: from a file, the bundled sample, or typed. */
import { DEMO_MODEL } from '../../../core/io/fetch-folder';
import { readTextInput } from '../../../core/text/text-file';
import { type Measured, type TextsState, useTextsStore } from '../../../store/texts';
import type { ModelFileInput } from '../../../worker/api';
import { pruner } from '../../pruner';
import { errorMessage } from '../../shared/format';

export type Which = 'calibration' | 'evaluation';

function setText(which: Which, text: string, origin: string): void {
  const texts = useTextsStore.getState();
  if (which === 'calibration') texts.setCalibration({ text, origin });
  else texts.setEvaluation({ text, origin });
}

function current(which: Which): TextsState['calibration'] {
  const texts = useTextsStore.getState();
  return which === 'calibration' ? texts.calibration : texts.evaluation;
}

/**
 * A file that cannot be used (empty, not UTF-8, bad JSON Lines) leaves the text as it was and says so; until the
 * user picks another file or keeps the current text, Prune waits (see pruneBlocker), so a run never goes ahead
 * on a text the user meant to replace.
 */
export async function applyTextFile(file: ModelFileInput, which: Which): Promise<void> {
  try {
    setText(which, await readTextInput(file.file, file.path), file.path);
  } catch (error) {
    const kept = current(which);
    useTextsStore.getState().setFileError({
      which,
      file: file.path,
      message: errorMessage(error),
      kept: kept.text.trim() ? kept.origin || 'the text in the box' : undefined,
    });
  }
}

export async function openTextFile(file: File, which: Which): Promise<void> {
  await applyTextFile({ path: file.name, file }, which);
}

export async function loadSampleText(which: Which): Promise<void> {
  const file = which === 'calibration' ? DEMO_MODEL.calibrationText : DEMO_MODEL.evaluationText;
  try {
    const response = await fetch(new URL(DEMO_MODEL.path + file, document.baseURI));
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    setText(which, await response.text(), 'the sample text (TinyStories-style English)');
  } catch (error) {
    useTextsStore.getState().setFileError({
      which,
      message: `Could not load the sample text: ${errorMessage(error)}`,
    });
  }
}

/** "Keep the current text": the failed file is forgotten and the text in the box is used. */
export function keepCurrentText(): void {
  useTextsStore.getState().setFileError(undefined);
}

const MEASURE_DELAY_MS = 300;

interface MeasureRequest {
  /** The model load it is for (a newer model makes the answer stale). */
  generation: number;
  text: string;
  seqlen: number;
  nsamples?: number;
  maxWindows?: number;
}

/** Runs `measure` a moment from now, unless cancelled first, and stores its answer (or why it failed). */
function measureLater<T>(
  set: (measure: Measured<T> | undefined) => void,
  key: string,
  measure: () => Promise<T>,
) {
  set(undefined);
  let live = true;
  const timer = setTimeout(() => {
    measure().then(
      (value) => live && set({ key, value }),
      (error: unknown) => live && set({ key, error: errorMessage(error) }),
    );
  }, MEASURE_DELAY_MS);
  return () => {
    live = false;
    clearTimeout(timer);
  };
}

/**
 * Tokenizes a text in the worker a moment after it (or the sizes) last changed, and says what samples or windows
 * it gives. Returns a cancel function for the next change.
 */
export function measureTexts(which: Which, request: MeasureRequest): () => void {
  const texts = useTextsStore.getState();
  const { generation, text, seqlen, nsamples = 1, maxWindows } = request;
  const key = `${generation}|${nsamples}|${seqlen}|${maxWindows}`;
  if (which === 'calibration') {
    if (!text.trim() || !(nsamples >= 1) || !(seqlen >= 2))
      return () => texts.setCalibrationMeasure(undefined);
    return measureLater(texts.setCalibrationMeasure, key, () =>
      pruner.measureCalibration(text, { nsamples, seqlen }),
    );
  }
  if (!text.trim() || !(seqlen >= 2)) return () => texts.setEvaluationMeasure(undefined);
  return measureLater(texts.setEvaluationMeasure, key, () =>
    pruner.measureEvaluation(text, { seqlen, maxWindows }),
  );
}

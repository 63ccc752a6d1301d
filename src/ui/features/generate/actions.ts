/**
 * Generation from the page: the prompt and decoding controls checked (each problem said beside its field), then the
 * open model and a run's pruned output continue the prompt in the worker, their tokens streaming into the store.
 */
import { SamplingError, type SamplingSettings, samplingOf } from '../../../core/generate/sampling';
import { type GenerateControls, type GenerationTarget, useGenerateStore } from '../../../store/generate';
import type { RunRecord } from '../../../store/history';
import { readySummary, useModelStore } from '../../../store/model';
import { type RunView, useRunStore } from '../../../store/run';
import { isCancelled, type JobHandle } from '../../../worker/client';
import { pruner } from '../../pruner';
import { describeSettings, errorMessage } from '../../shared/format';
import { when } from '../history/Comparison';
import { newRunId } from '../run/actions';

/** The most tokens one press generates: a story's worth, and a bound on how long the GPU is held. */
export const MAX_NEW_TOKENS = 1024;

let current: { jobId: string; handle: JobHandle<unknown> } | undefined;

/** The shown run's output, once the run is done and its files are kept. */
export function targetOfRun(view: RunView): GenerationTarget | undefined {
  if (view.phase !== 'done' || !view.runId || !view.outputFolder || !view.modelName || !view.settings) {
    return undefined;
  }
  return {
    runId: view.runId,
    outputFolder: view.outputFolder,
    modelName: view.modelName,
    label: `${describeSettings(view.settings)}${view.startedAt ? `, ${when(view.startedAt)}` : ''}`,
  };
}

export function targetOfRecord(record: RunRecord): GenerationTarget {
  return {
    runId: record.id,
    outputFolder: record.outputFolder,
    modelName: record.modelName,
    label: `${describeSettings(record.settings)}, ${when(record.createdAt)}`,
  };
}

const FIELD_OF: Record<keyof SamplingSettings, keyof GenerateControls> = {
  temperature: 'temperature',
  topP: 'topP',
  seed: 'seed',
};

/** The request's prompt, max tokens and sampling, or the first problem with its field. */
function checkedControls(controls: GenerateControls) {
  const store = useGenerateStore.getState();
  if (controls.prompt.trim() === '') {
    store.setProblem({ field: 'prompt', message: 'Type a prompt for the two models to continue.' });
    return undefined;
  }
  const { maxTokens } = controls;
  if (!(Number.isInteger(maxTokens) && maxTokens >= 1 && maxTokens <= MAX_NEW_TOKENS)) {
    store.setProblem({
      field: 'maxTokens',
      message: `Max tokens must be a whole number from 1 to ${MAX_NEW_TOKENS}; got ${maxTokens}.`,
    });
    return undefined;
  }
  if (controls.decoding === 'greedy') {
    return { prompt: controls.prompt, maxTokens, sampling: { temperature: 0, topP: 1, seed: 0 } };
  }
  const sampling = { temperature: controls.temperature, topP: controls.topP, seed: controls.seed };
  try {
    samplingOf(sampling);
    if (sampling.temperature === 0) {
      throw new SamplingError('Sampling needs a temperature above 0 (0 is greedy decoding).', 'temperature');
    }
  } catch (error) {
    if (!(error instanceof SamplingError)) throw error;
    store.setProblem({ field: FIELD_OF[error.setting], message: error.message });
    return undefined;
  }
  return { prompt: controls.prompt, maxTokens, sampling };
}

export function startGeneration(target: GenerationTarget): void {
  const store = useGenerateStore.getState();
  if (store.phase === 'running' || store.phase === 'stopping') return;
  const checked = checkedControls(store.controls);
  if (!checked) return;
  const jobId = newRunId();
  store.started(jobId, target);
  const open = readySummary(useModelStore.getState().status);
  if (open?.name !== target.modelName) {
    store.finished(
      jobId,
      'failed',
      `This run pruned ${target.modelName}, but ${open ? open.name : 'no model'} is open: open ${target.modelName} ` +
        'again to compare it with its pruned output.',
    );
    return;
  }
  const handle = pruner.generate({ runId: jobId, outputFolder: target.outputFolder, ...checked }, (events) =>
    useGenerateStore.getState().received(jobId, events),
  );
  current = { jobId, handle };
  handle.done.then(
    () => useGenerateStore.getState().finished(jobId, 'done'),
    (error: unknown) =>
      useGenerateStore
        .getState()
        .finished(
          jobId,
          isCancelled(error) ? 'stopped' : 'failed',
          isCancelled(error) ? undefined : errorMessage(error),
        ),
  );
}

export function stopGeneration(): void {
  if (!current) return;
  useGenerateStore.getState().stopping(current.jobId);
  void current.handle.cancel();
}

/** History's "Generate": compares that run's saved output with the open model, in the generation card. */
export function generateFromRecord(record: RunRecord): void {
  useGenerateStore.getState().choose(targetOfRecord(record), useRunStore.getState().view.runId);
  requestAnimationFrame(() =>
    document.getElementById('generate-title')?.scrollIntoView({ behavior: 'smooth', block: 'start' }),
  );
}

/** Tokens of the evaluation text coloured by their loss increase: one window's worth, readable at a glance. */
export const LOSS_TOKENS = 256;

/** Each token's loss under the open model and the target's pruned output, for the evaluation text. */
export async function measureLosses(target: GenerationTarget, text: string) {
  const open = readySummary(useModelStore.getState().status);
  if (open?.name !== target.modelName) {
    throw new Error(
      `This run pruned ${target.modelName}; open it again to compare it with its pruned output.`,
    );
  }
  if (text.trim() === '') {
    throw new Error('Add an evaluation text (step 2) to see which of its words got harder.');
  }
  return pruner.tokenLosses({ outputFolder: target.outputFolder, text, maxTokens: LOSS_TOKENS });
}

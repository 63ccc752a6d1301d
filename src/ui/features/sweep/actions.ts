/**
 * A sweep in the app: its points run one after another, each a whole run through launchRun (the live progress,
 * the per-layer table and a history record, as Prune gives), writing no model. Cancel stops the point running and
 * the queue; the finished points stay.
 */
import type { PruneSettings } from '../../../core/settings/prune-settings';
import { pointSettings, sweepPoints, sweepProblems, sweepResult } from '../../../core/sweep/sweep';
import { readySummary, useModelStore } from '../../../store/model';
import { useRunStore } from '../../../store/run';
import { useSettingsStore } from '../../../store/settings';
import { useSweepStore } from '../../../store/sweep';
import { useTextsStore } from '../../../store/texts';
import { discardUnfinished } from '../resume/offer';
import { cancelRun, currentPruneBlocker, launchRun, newRunId } from '../run/actions';
import { readSweepForm, type SweepForm } from './request';

/** Why this sweep cannot start, in words (one line each); empty when it can. */
export function sweepBlockers(form: SweepForm): string[] {
  const blocker = currentPruneBlocker();
  if (blocker) return [blocker];
  if (!useTextsStore.getState().evaluation.text.trim()) {
    return ['Add an evaluation text: a sweep compares the perplexities of its points.'];
  }
  const { request, problems } = readSweepForm(form);
  return [...problems, ...sweepProblems(request, useSettingsStore.getState().settings)];
}

export async function startSweep(form: SweepForm): Promise<void> {
  const problems = sweepBlockers(form);
  if (problems.length) throw new Error(problems.join(' '));
  const summary = readySummary(useModelStore.getState().status);
  if (!summary) return;
  await discardUnfinished();
  const base: PruneSettings = structuredClone(useSettingsStore.getState().settings);
  const points = sweepPoints(readSweepForm(form).request);
  const sweep = useSweepStore.getState();
  sweep.begin(summary.name, base, points);
  const { calibration, evaluation } = useTextsStore.getState();
  for (const [index, point] of points.entries()) {
    if (useSweepStore.getState().phase !== 'running') break;
    sweep.running(index);
    const runId = newRunId();
    const reply = await launchRun({
      runId,
      settings: pointSettings(base, point),
      calibration,
      evaluation,
      progressFolder: runId,
      writeModel: false,
    });
    if (!reply) {
      const run = useRunStore.getState().view;
      // A cancel (here or on the run card) ends the queue quietly; a failed point ends it with the run's message.
      if (run.phase === 'cancelled') sweep.stopping();
      sweep.end(run.phase === 'failed' ? `${point.label} ${point.method}: ${run.error}` : undefined);
      return;
    }
    const used = useRunStore.getState().view.calibration;
    sweep.finished(
      sweepResult(point, reply.result, runId),
      used && { nsamples: used.nsamples, seqlen: used.seqlen, textTokens: used.textTokens },
    );
  }
  sweep.end();
}

export function cancelSweep(): void {
  useSweepStore.getState().stopping();
  cancelRun();
}

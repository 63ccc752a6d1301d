/** Whether Prune can start now, in one place for the button's hint and the action itself. */
import type { ModelStatus } from '../../../store/model';
import type { RunPhase } from '../../../store/run';
import type { TextFileProblem } from '../../../store/texts';

export interface PruneReadiness {
  model: ModelStatus;
  calibration: string;
  fileError: TextFileProblem | undefined;
  settingsProblems: string[];
  phase: RunPhase;
}

/** Why Prune cannot start, in words; undefined when it can. */
export function pruneBlocker({
  model,
  calibration,
  fileError,
  settingsProblems,
  phase,
}: PruneReadiness): string | undefined {
  if (phase === 'running' || phase === 'cancelling') return 'A run is in progress.';
  if (model.kind !== 'ready') return 'Open a model first (drop a folder or try the demo model).';
  if (fileError) {
    const file = fileError.file ?? `the ${fileError.which} file`;
    return `${file} could not be used: choose another file, or keep the current ${fileError.which} text.`;
  }
  if (!calibration.trim()) return 'Add a calibration text first.';
  if (settingsProblems.length > 0) return 'Fix the settings above first.';
  return undefined;
}

/** Which linears a run prunes and which it leaves dense (skip list, N:M that does not divide the columns), and why. */
import type { Architecture } from '../forward/architecture';
import { skipMatches } from './settings-check';
import type { PruneSettings } from './types';

export interface LinearPlan {
  tensor: string;
  prune: boolean;
  /** Why the linear stays dense. */
  reason?: string;
  /** Shown to the user before the run starts. */
  warning?: string;
}

export function planLinears(arch: Architecture, settings: PruneSettings): Map<string, LinearPlan> {
  const plans = new Map<string, LinearPlan>();
  const { pattern } = settings;
  for (const linear of arch.prunableLinears()) {
    const { tensor } = linear;
    const skippedBy = settings.skipLayers.find((entry) =>
      skipMatches(entry, tensor, linear.block, linear.name),
    );
    if (skippedBy !== undefined) {
      plans.set(tensor, {
        tensor,
        prune: false,
        reason: `skipped ("${skippedBy.trim()}" in the layers to skip)`,
      });
    } else if (pattern !== 'unstructured' && linear.cols % pattern.m !== 0) {
      const reason = `left dense: its ${linear.cols} input columns are not a multiple of ${pattern.m} for ${pattern.n}:${pattern.m}`;
      plans.set(tensor, { tensor, prune: false, reason, warning: `${tensor} ${reason}.` });
    } else {
      plans.set(tensor, { tensor, prune: true });
    }
  }
  return plans;
}

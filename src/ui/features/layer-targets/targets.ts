/** The per-layer targets the user edits: adding one from the explorer, and which linears each entry reaches. */
import { skipMatches } from '../../../core/pipeline/settings-check';
import type { PrunableLinear } from '../../../core/pipeline/types';
import { type LayerTarget, OWL_DEFAULTS, type PruneSettings } from '../../../core/settings/prune-settings';

/** The targets with `layers` set to `sparsity`: an entry for the same layers is replaced (it keeps its place). */
export function withLayerTarget(
  targets: readonly LayerTarget[],
  layers: string,
  sparsity: number,
): LayerTarget[] {
  return targets.some((t) => t.layers === layers)
    ? targets.map((t) => (t.layers === layers ? { layers, sparsity } : t))
    : [...targets, { layers, sparsity }];
}

/** How many of the model's prunable linears an entry matches (as a skip entry does). */
export function matchCount(layers: string, prunable: readonly PrunableLinear[]): number {
  return prunable.filter((l) => skipMatches(layers.trim(), l.tensor, l.block, l.name)).length;
}

/** The range OWL spreads the blocks' sparsities over, before it measures them: target ± λ, within [0, 1). */
export function owlRange(settings: PruneSettings): { low: number; high: number } {
  const lambda = settings.owlLambda ?? OWL_DEFAULTS.lambda;
  return { low: Math.max(0, settings.sparsity - lambda), high: Math.min(0.99, settings.sparsity + lambda) };
}

/** The empty target list, one object, for selectors (a new [] each call would re-render without end). */
export const NO_TARGETS: readonly LayerTarget[] = [];

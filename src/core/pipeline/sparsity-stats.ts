/** What a run's per-layer table adds up to, for the result, the history and the sweep's exports. */
import type { LayerResult } from './types';

/**
 * Zeros over all prunable weights of the model, dense layers included (the result's overallSparsity counts only
 * the layers that were pruned): what the model as a whole gained.
 */
export function sparsityOfAllLinears(layers: readonly LayerResult[]): number {
  let weights = 0;
  let zeros = 0;
  for (const layer of layers) {
    weights += layer.rows * layer.cols;
    zeros += layer.sparsity * layer.rows * layer.cols;
  }
  return weights ? zeros / weights : 0;
}

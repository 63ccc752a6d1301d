/** Float64 per-token losses for tests: the reference forward over the whole text, −log softmax at each target. */
import { referenceOf } from '../generate/generate.reference';
import type { ForwardModel } from '../pipeline/forward-model';

/** −log softmax(logits)[target] of every position by the float64 reference, null for the first token. */
export async function referenceLosses(model: ForwardModel, ids: number[]): Promise<Array<number | null>> {
  const reference = await referenceOf(model);
  const shape = { sequences: 1, seqLen: ids.length };
  let hidden = reference.embed(ids, shape);
  for (let index = 0; index < reference.config.numLayers; index++)
    hidden = reference.block(index, hidden, shape);
  const size = reference.config.hiddenSize;
  const losses: Array<number | null> = [null];
  for (let t = 0; t + 1 < ids.length; t++) {
    const logits = reference.logits(hidden.subarray(t * size, (t + 1) * size));
    const max = Math.max(...logits);
    const logSum = Math.log(logits.reduce((sum, l) => sum + Math.exp(l - max), 0)) + max;
    losses.push(logSum - logits[ids[t + 1]]);
  }
  return losses;
}

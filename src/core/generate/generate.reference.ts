/**
 * Float64 generation for tests: the next-token logits of a sequence by a full forward of the float64 reference model
 * (forward.reference.ts) over the whole sequence, with no cache, and greedy continuation by repeating it.
 */
import { ReferenceModel } from '../forward/forward.reference';
import type { ForwardModel } from '../pipeline/forward-model';

/** Logits [vocab] after the last of `ids`. */
export function referenceNextLogits(model: ReferenceModel, ids: number[]): Float64Array {
  const shape = { sequences: 1, seqLen: ids.length };
  let hidden = model.embed(ids, shape);
  for (let index = 0; index < model.config.numLayers; index++) hidden = model.block(index, hidden, shape);
  return model.logits(hidden.subarray((ids.length - 1) * model.config.hiddenSize));
}

/** The `count` tokens greedy decoding appends to `prompt` (the highest logit, the lowest id on a tie). */
export function referenceGreedy(model: ReferenceModel, prompt: number[], count: number): number[] {
  const ids = [...prompt];
  for (let n = 0; n < count; n++) {
    const logits = referenceNextLogits(model, ids);
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    ids.push(best);
  }
  return ids.slice(prompt.length);
}

/** The float64 reference of a Llama-family model (the demo): its tensors read from the model's source. */
export async function referenceOf(model: ForwardModel): Promise<ReferenceModel> {
  const tensors = new Map<string, Float32Array>();
  const names = [
    model.arch.embedding.tensor,
    model.arch.finalNorm?.weight ?? '',
    ...Array.from({ length: model.arch.numBlocks }, (_, i) => {
      const block = model.arch.block(i);
      return [block.attentionNorm.weight, block.mlpNorm.weight, ...block.linears.map((l) => l.tensor)];
    }).flat(),
  ].filter(Boolean);
  for (const name of names) tensors.set(name, await model.source(name));
  return new ReferenceModel(model.arch.config, (name) => tensors.get(name) as Float32Array, tensors.keys());
}

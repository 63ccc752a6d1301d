/**
 * Cached decoding for every family the GPU forward runs: a prompt, then tokens fed one at a time through the KV
 * cache; the logits after every step agree with the float64 reference's full forward over the sequence so far within
 * 1e-4 of the largest logit. Llama (llama3 RoPE, biases), OPT (learned positions with their offset, pre-norm, and
 * OPT-350m's post-norm with project_in/out), GPT-2 (learned positions, Conv1D), Phi-4-mini (fused projections,
 * partial rotary, LongRoPE switching to its long factors mid-generation, where the cache is computed again) and
 * Mistral (a sliding window as wide as the sequence), Qwen3 (q/k norms), Gemma 2 (soft-caps, (1 + w) and post
 * norms, scaled embeddings), Gemma 3 (windows shorter than the sequence, a RoPE per layer) and the mixtures of
 * experts (Mixtral, Qwen3-MoE): measured 3e-7 to 6e-7 on each.
 */
import { describe, expect, it } from 'vitest';
import {
  randomCheckpoint,
  randomIds,
  tinyGpt2Config,
  tinyLlamaConfig,
  tinyOptConfig,
} from '../../../test/checkpoints';
import { familyCheckpoint } from '../../../test/family-checkpoints';
import { useGpu } from '../../../test/gpu';
import { describeArchitecture } from '../forward/architecture';
import { ReferenceModel } from '../forward/forward.reference';
import type { ModelConfig } from '../model/types';
import { CachedDecoder } from './decoder';
import { referenceNextLogits } from './generate.reference';
import { placeWeights } from './model-weights';

interface Tensors {
  config: ModelConfig;
  names: string[];
  tensor(name: string): Float32Array;
}

const RANDOM: Array<[string, ModelConfig, string?]> = [
  [
    'Llama: llama3 RoPE, q/k/v biases, untied',
    tinyLlamaConfig({
      biases: { qkv: true, o: false, mlp: false },
      positional: {
        kind: 'rope',
        theta: 500000,
        partialRotaryFactor: 1,
        scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 },
      },
    }),
  ],
  ['OPT: pre-norm, learned positions from offset 2', tinyOptConfig(), 'decoder.'],
  [
    'OPT-350m: post-norm, project_in/out, untied',
    tinyOptConfig({ doLayerNormBefore: false, wordEmbedProjDim: 12, tiedEmbeddings: false }),
  ],
  ['GPT-2: learned positions, Conv1D weights', tinyGpt2Config()],
];

/** Feeds `prompt` then each of `steps`, checking the logits after every feed against the float64 reference. */
async function checkCachedSteps(
  ctx: Awaited<ReturnType<ReturnType<typeof useGpu>>>,
  model: Tensors,
  prompt: number,
  steps: number,
) {
  const { config } = model;
  const arch = describeArchitecture(config, model.names);
  const ids = Array.from(randomIds(prompt + steps, config.vocabSize, 11));
  const reference = new ReferenceModel(config, (name) => model.tensor(name), model.names);
  const weights = await placeWeights(ctx, arch, async (name) => model.tensor(name), {
    label: config.modelType,
  });
  const decoder = new CachedDecoder(ctx, arch, weights, prompt + steps, prompt);
  let worst = 0;
  try {
    for (let length = prompt; length <= prompt + steps; length++) {
      const logits = await decoder.feed(length === prompt ? ids.slice(0, prompt) : [ids[length - 1]]);
      const expected = referenceNextLogits(reference, ids.slice(0, length));
      const scale = Math.max(1, ...Array.from(expected, Math.abs));
      for (let v = 0; v < logits.length; v++)
        worst = Math.max(worst, Math.abs(logits[v] - expected[v]) / scale);
    }
    return { worst, recomputed: decoder.recomputed };
  } finally {
    decoder.destroy();
    weights.destroy();
  }
}

describe('cached decoding for every family of the GPU forward', () => {
  const gpu = useGpu();

  it.each(RANDOM)(
    '%s: the logits of every step agree with the float64 reference',
    async (_, config, prefix) => {
      const checkpoint = randomCheckpoint(config, { seed: 5, prefix });
      const { worst } = await checkCachedSteps(await gpu(), checkpoint, 7, 9);
      expect(worst).toBeLessThan(1e-4);
    },
  );

  it('Phi-4-mini: fused projections, partial rotary, and LongRoPE past its original context mid-generation', async () => {
    // original_max_position_embeddings 16: the prompt rotates with the short factors, step 7 crosses to the long ones.
    const checkpoint = familyCheckpoint('microsoft/Phi-4-mini-instruct');
    const { worst, recomputed } = await checkCachedSteps(await gpu(), checkpoint, 10, 10);
    expect(worst).toBeLessThan(1e-4);
    expect(recomputed).toBe(1);
  });

  it('Mistral: a sliding window as wide as the sequence', async () => {
    const checkpoint = familyCheckpoint('mistralai/Mistral-7B-v0.1');
    const { worst } = await checkCachedSteps(await gpu(), checkpoint, 4, 4);
    expect(worst).toBeLessThan(1e-4);
  });

  it.each([
    'Qwen/Qwen3-0.6B',
    'google/gemma-2-2b',
    'google/gemma-3-270m',
    'mistralai/Mixtral-8x7B-v0.1',
    'Qwen/Qwen3-30B-A3B',
  ])('%s: the logits of every step agree with the float64 reference', async (name) => {
    const checkpoint = familyCheckpoint(name);
    const { worst } = await checkCachedSteps(await gpu(), checkpoint, 6, 6);
    expect(worst).toBeLessThan(1e-4);
  });
});

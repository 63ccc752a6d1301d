/**
 * The newer families on the GPU forward, each on its tiny checkpoint (real config, sizes shrunk, real tensor names,
 * BF16/F16/F32): Qwen3 (q/k norms), Gemma 3 (1 + w norms, √hidden embeddings, q/k norms, sandwich norms, sliding
 * windows with their own RoPE base, query_pre_attn_scalar), Gemma 2 (attention and final soft-capping, windows), Phi-3/4 (fused
 * projections, LongRoPE, partial rotary, windows), Mistral (window), Mixtral and Qwen3-MoE (routed experts). Per
 * family the per-token NLL agrees with the float64 reference within the tolerance of the other families, at
 * sequences longer than every window; and every feature is individually sensitive: the GPU's NLL is far (10× the
 * tolerance) from the reference's with that one feature removed, so a GPU forward without it would fail.
 */
import { describe, expect, it } from 'vitest';
import { randomIds } from '../../../test/checkpoints';
import { familyCheckpoint } from '../../../test/family-checkpoints';
import { expectNllClose } from '../../../test/forward-checks';
import { useGpu } from '../../../test/gpu';
import type { ModelConfig } from '../model/types';
import { describeArchitecture } from './architecture';
import { ReferenceModel } from './forward.reference';
import { modelNll } from './model-forward';

const SEQUENCES = 2;

type Ablation = [string, (c: ModelConfig) => Partial<ModelConfig>];

/**
 * Each family, its sequence length, the features (config fields switched off) that must each matter, and changes
 * to its shrunk config.json where a feature needs them to show.
 */
const CASES: Array<[string, number, Ablation[], Record<string, unknown>?]> = [
  ['Qwen/Qwen3-0.6B', 12, [['q/k norms', () => ({ qkNorm: false })]]],
  [
    'google/gemma-3-270m',
    12,
    [
      ['(1 + w) norms', () => ({ normUnitOffset: false })],
      ['√hidden embeddings', () => ({ embeddingScale: undefined })],
      ['q/k norms', () => ({ qkNorm: false })],
      ['post-attention and post-MLP norms', () => ({ sandwichNorms: false })],
      ['sliding windows', () => ({ layerTypes: undefined })],
      ['the local RoPE base', () => ({ slidingPositional: undefined })],
    ],
  ],
  ['google/gemma-3-1b-pt', 12, [['sliding windows', () => ({ layerTypes: undefined })]]],
  [
    'google/gemma-2-2b',
    12,
    [
      ['attention soft-capping', () => ({ attentionSoftcap: undefined })],
      ['final logit soft-capping', () => ({ finalLogitSoftcap: undefined })],
      ['sliding windows', () => ({ layerTypes: undefined })],
    ],
  ],
  // Gemma 2 27B's query_pre_attn_scalar (hidden / heads) is not its head_dim (on Gemma 3: Gemma 2's capped
  // scores hide the scale).
  [
    'google/gemma-3-270m',
    12,
    [['query_pre_attn_scalar', () => ({ attentionScale: undefined })]],
    { query_pre_attn_scalar: 24 },
  ],
  ['microsoft/Phi-4-mini-instruct', 12, []],
  [
    'microsoft/Phi-4-mini-instruct',
    20,
    [['LongRoPE long factors', (c) => ({ positional: { ...c.positional, scaling: undefined } as never })]],
  ],
  ['microsoft/Phi-3-mini-4k-instruct', 12, [['sliding window', () => ({ layerTypes: undefined })]]],
  ['mistralai/Mistral-7B-v0.1', 12, [['sliding window', () => ({ layerTypes: undefined })]]],
  ['mistralai/Mixtral-8x7B-v0.1', 12, [['top-2 routing', (c) => ({ moe: c.moe && { ...c.moe, topK: 1 } })]]],
  [
    'Qwen/Qwen3-30B-A3B',
    12,
    [
      ['renormalised top-k weights', (c) => ({ moe: c.moe && { ...c.moe, normalizeTopK: false } })],
      ['top-4 routing', (c) => ({ moe: c.moe && { ...c.moe, topK: 2 } })],
      ['q/k norms', () => ({ qkNorm: false })],
    ],
  ],
];

/** Largest relative difference over the predicted tokens (as expectNllClose measures it). */
function largestDifference(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let t = 0; t < a.length; t++) {
    if (!Number.isNaN(b[t])) worst = Math.max(worst, Math.abs(a[t] - b[t]) / Math.max(1, Math.abs(b[t])));
  }
  return worst;
}

describe('the newer families on the GPU forward', () => {
  const gpu = useGpu();

  it.each(CASES)(
    '%s at %i tokens: the float64 reference NLL, every feature sensitive',
    async (name, seqLen, features, overrides) => {
      const ctx = await gpu();
      const checkpoint = familyCheckpoint(name, { overrides });
      const { config } = checkpoint;
      const ids = randomIds(SEQUENCES * seqLen, config.vocabSize, 3);
      const shape = { sequences: SEQUENCES, seqLen };
      const referenceNll = (c: ModelConfig) =>
        new ReferenceModel(c, (tensor) => checkpoint.tensor(tensor), checkpoint.names).forwardNll(ids, shape);
      const arch = describeArchitecture(config, checkpoint.names);
      const nll = await modelNll(ctx, arch, async (tensor) => checkpoint.tensor(tensor), ids, { seqLen });
      expectNllClose(nll, referenceNll(config));
      for (const [feature, without] of features) {
        const ablated = referenceNll({ ...config, ...without(config) });
        expect(largestDifference(nll, ablated), `without ${feature}`).toBeGreaterThan(1e-3);
      }
    },
  );
});

/**
 * The float64 reference forward of the new families on their tiny checkpoints (real configs, sizes shrunk): every
 * feature measurably changes the per-token NLL when removed, and where an independent computation exists the
 * reference agrees with it to float64 rounding — (1 + w) RMSNorm = RMSNorm of w + 1, a window as wide as the
 * sequence = full attention, a window = full attention over the window's keys, Phi-3's fused projections = the
 * same weights split Llama-style, one expert of weight 1 = a dense MLP, top-k of all experts under a uniform router
 * = the mean of the experts.
 */
import { describe, expect, it } from 'vitest';
import { randomIds } from '../../../../test/checkpoints';
import { type FamilyCheckpoint, familyCheckpoint } from '../../../../test/family-checkpoints';
import { REAL_CONFIGS } from '../../../../test/family-configs';
import { gaussian } from '../../../../test/random';
import type { ModelConfig } from '../../model/types';
import { ReferenceModel, type ReferenceOptions } from '../forward.reference';
import { referenceRoute, referenceSparseMoe } from './moe';
import { referenceActivation, referenceAttention, referenceLinear, referenceRmsNorm } from './operations';

const SHAPE = { sequences: 2, seqLen: 12 };

function nll(
  checkpoint: FamilyCheckpoint,
  config: ModelConfig = checkpoint.config,
  tensors: Map<string, Float32Array> = checkpoint.tensors,
  shape: { sequences: number; seqLen: number } = SHAPE,
  options: ReferenceOptions = {},
): Float64Array {
  const ids = randomIds(shape.sequences * shape.seqLen, config.vocabSize, 11);
  const tensor = (name: string) => {
    const data = tensors.get(name);
    if (!data) throw new Error(`missing ${name}`);
    return data;
  };
  return new ReferenceModel(config, tensor, tensors.keys(), options).forwardNll(ids, shape);
}

/** Largest |a − b| over the predicted tokens. */
function largestDifference(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let t = 0; t < a.length; t++) if (!Number.isNaN(a[t])) worst = Math.max(worst, Math.abs(a[t] - b[t]));
  return worst;
}

/** Removing the feature moves some token's NLL by more than 1e-6 nats (float64 rounding is ~1e-14). */
function expectMatters(checkpoint: FamilyCheckpoint, without: Partial<ModelConfig>, shape = SHAPE) {
  const reference = nll(checkpoint, checkpoint.config, checkpoint.tensors, shape);
  const ablated = nll(checkpoint, { ...checkpoint.config, ...without }, checkpoint.tensors, shape);
  expect(largestDifference(reference, ablated)).toBeGreaterThan(1e-6);
}

function expectSame(a: Float64Array, b: Float64Array) {
  expect(largestDifference(a, b)).toBeLessThan(1e-12);
}

describe('reference forward of the new families', () => {
  for (const name of Object.keys(REAL_CONFIGS)) {
    it(`${name}: finite NLL, far from a uniform guess`, () => {
      const checkpoint = familyCheckpoint(name);
      const values = Array.from(nll(checkpoint)).filter((v) => !Number.isNaN(v));
      expect(values).toHaveLength(SHAPE.sequences * (SHAPE.seqLen - 1));
      for (const v of values) expect(Number.isFinite(v) && v >= 0).toBe(true);
      const spread = Math.max(...values) - Math.min(...values);
      expect(spread).toBeGreaterThan(1);
    });
  }
});

describe('every feature matters on its tiny checkpoint', () => {
  it('Qwen3: the q/k RMSNorms', () => {
    expectMatters(familyCheckpoint('Qwen/Qwen3-0.6B'), { qkNorm: false });
  });

  it('Gemma 3: (1 + w), √hidden, q/k norms, sandwich norms, window, local RoPE base, tanh GELU', () => {
    const gemma = familyCheckpoint('google/gemma-3-270m');
    expectMatters(gemma, { normUnitOffset: false });
    expectMatters(gemma, { embeddingScale: undefined });
    expectMatters(gemma, { qkNorm: false });
    expectMatters(gemma, { sandwichNorms: false });
    expectMatters(gemma, { layerTypes: undefined });
    expectMatters(gemma, { slidingPositional: undefined });
    expectMatters(gemma, { activation: 'gelu' });
  });

  it('Gemma 2: attention and final soft-capping, the window, query_pre_attn_scalar', () => {
    const gemma = familyCheckpoint('google/gemma-2-2b');
    expectMatters(gemma, { attentionSoftcap: undefined });
    expectMatters(gemma, { finalLogitSoftcap: undefined });
    expectMatters(gemma, { layerTypes: undefined });
    // Gemma 2 27B's query_pre_attn_scalar (hidden / heads) is not its head_dim.
    expectMatters(familyCheckpoint('google/gemma-2-2b', { overrides: { query_pre_attn_scalar: 24 } }), {
      attentionScale: undefined,
    });
  });

  it('Phi-4-mini: LongRoPE (attention factor up to 16 positions, long factors past them)', () => {
    const phi = familyCheckpoint('microsoft/Phi-4-mini-instruct');
    const positional = phi.config.positional;
    if (positional.kind !== 'rope' || !positional.scaling) throw new Error('Phi-4-mini has LongRoPE');
    expectMatters(phi, { positional: { ...positional, scaling: undefined } });
    const { longFactor, shortFactor } = positional.scaling;
    const shortOnly = { ...positional, scaling: { ...positional.scaling, longFactor: shortFactor } };
    expect(longFactor).not.toEqual(shortFactor);
    expectMatters(phi, { positional: shortOnly }, { sequences: 1, seqLen: 20 });
  });

  it('Mistral and Phi-3: the sliding window, once the sequence is longer than it', () => {
    expectMatters(familyCheckpoint('mistralai/Mistral-7B-v0.1'), { layerTypes: undefined });
    expectMatters(familyCheckpoint('microsoft/Phi-3-mini-4k-instruct'), { layerTypes: undefined });
  });

  it('Mixtral and Qwen3-MoE: top-k and the renormalisation of the routing weights', () => {
    const qwen = familyCheckpoint('Qwen/Qwen3-30B-A3B');
    const moe = qwen.config.moe;
    if (!moe) throw new Error('Qwen3-MoE has experts');
    expectMatters(qwen, { moe: { ...moe, normalizeTopK: false } });
    expectMatters(qwen, { moe: { ...moe, topK: 2 } });
    expectMatters(qwen, { qkNorm: false });
    const mixtral = familyCheckpoint('mistralai/Mixtral-8x7B-v0.1');
    if (!mixtral.config.moe) throw new Error('Mixtral has experts');
    expectMatters(mixtral, { moe: { ...mixtral.config.moe, topK: 1 } });
  });
});

describe('cross-checks against independent computations', () => {
  it('Gemma’s (1 + w) RMSNorm is the plain RMSNorm of w + 1, for one row and for the whole model', () => {
    const x = Float64Array.from(gaussian(4 * 8, 3));
    const w = Float64Array.from(gaussian(8, 4));
    expectSame(
      referenceRmsNorm(x, 4, 8, w, 1e-6, true),
      referenceRmsNorm(
        x,
        4,
        8,
        w.map((v) => v + 1),
        1e-6,
      ),
    );
    const gemma = familyCheckpoint('google/gemma-3-270m');
    const shifted = new Map(
      [...gemma.tensors].map(([name, data]) => [
        name,
        /norm\.weight$/.test(name) ? data.map((v) => v + 1) : data,
      ]),
    );
    expectSame(nll(gemma), nll(gemma, { ...gemma.config, normUnitOffset: false }, shifted));
  });

  it('a window as wide as the sequence is full attention; one narrower is not', () => {
    // A window of seqLen − 1 would hide key 0 from the last query only, whose next token is not scored.
    const mistral = familyCheckpoint('mistralai/Mistral-7B-v0.1');
    const full = nll(mistral, { ...mistral.config, layerTypes: undefined, slidingWindow: undefined });
    expectSame(nll(mistral, { ...mistral.config, slidingWindow: SHAPE.seqLen }), full);
    expect(
      largestDifference(nll(mistral, { ...mistral.config, slidingWindow: SHAPE.seqLen - 2 }), full),
    ).toBeGreaterThan(1e-6);
  });

  it('windowed attention of query i is full causal attention over keys i − window + 1 … i', () => {
    const [heads, kvHeads, headDim, seqLen, window] = [4, 2, 3, 9, 4];
    const q = Float64Array.from(gaussian(seqLen * heads * headDim, 5));
    const k = Float64Array.from(gaussian(seqLen * kvHeads * headDim, 6));
    const v = Float64Array.from(gaussian(seqLen * kvHeads * headDim, 7));
    const windowed = referenceAttention(q, k, v, 1, seqLen, heads, kvHeads, headDim, 0.5, {
      window,
      softcap: 3,
    });
    for (let i = 0; i < seqLen; i++) {
      const first = Math.max(0, i - window + 1);
      const rows = (data: Float64Array, width: number) => data.slice(first * width, (i + 1) * width);
      const span = i + 1 - first;
      const sub = referenceAttention(
        rows(q, heads * headDim),
        rows(k, kvHeads * headDim),
        rows(v, kvHeads * headDim),
        1,
        span,
        heads,
        kvHeads,
        headDim,
        0.5,
        { softcap: 3 },
      );
      const last = sub.slice((span - 1) * heads * headDim, span * heads * headDim);
      expectSame(windowed.slice(i * heads * headDim, (i + 1) * heads * headDim), last);
    }
  });

  it('Phi-3’s fused qkv_proj and gate_up_proj compute the same model as the rows split into q/k/v and gate/up', () => {
    const phi = familyCheckpoint('microsoft/Phi-4-mini-instruct');
    const c = phi.config;
    const [q, kv, I] = [c.numHeads * c.headDim, c.numKvHeads * c.headDim, c.intermediateSize];
    const H = c.hiddenSize;
    const split = new Map<string, Float32Array>();
    for (const [name, data] of phi.tensors) {
      if (name.endsWith('qkv_proj.weight')) {
        const base = name.slice(0, -'qkv_proj.weight'.length);
        split.set(`${base}q_proj.weight`, data.slice(0, q * H));
        split.set(`${base}k_proj.weight`, data.slice(q * H, (q + kv) * H));
        split.set(`${base}v_proj.weight`, data.slice((q + kv) * H));
      } else if (name.endsWith('gate_up_proj.weight')) {
        const base = name.slice(0, -'gate_up_proj.weight'.length);
        split.set(`${base}gate_proj.weight`, data.slice(0, I * H));
        split.set(`${base}up_proj.weight`, data.slice(I * H));
      } else split.set(name, data);
    }
    expectSame(nll(phi), nll(phi, { ...c, modelType: 'llama', fusedProjections: undefined }, split));
  });

  it('Mixtral with one expert (weight 1) is Mistral with that expert as its MLP', () => {
    const mixtral = familyCheckpoint('mistralai/Mixtral-8x7B-v0.1', {
      overrides: { num_local_experts: 1, num_experts_per_tok: 1 },
    });
    const dense = new Map<string, Float32Array>();
    const renamed: Record<string, string> = { w1: 'gate_proj', w3: 'up_proj', w2: 'down_proj' };
    for (const [name, data] of mixtral.tensors) {
      const expert = /^(.*)\.block_sparse_moe\.experts\.0\.(w[123])\.weight$/.exec(name);
      if (expert) dense.set(`${expert[1]}.mlp.${renamed[expert[2]]}.weight`, data);
      else if (!name.endsWith('block_sparse_moe.gate.weight')) dense.set(name, data);
    }
    const mistral = { ...mixtral.config, modelType: 'mistral', moe: undefined };
    expectSame(nll(mixtral), nll(mixtral, mistral, dense));
  });

  it('top-k of every expert under a uniform router is the mean of the experts', () => {
    const qwen = familyCheckpoint('Qwen/Qwen3-30B-A3B');
    const moe = qwen.config.moe;
    if (!moe) throw new Error('Qwen3-MoE has experts');
    const config = { ...qwen.config, moe: { ...moe, topK: moe.experts, normalizeTopK: true } };
    const H = config.hiddenSize;
    const M = moe.expertIntermediateSize;
    const tensors = new Map(qwen.tensors);
    tensors.set('model.layers.0.mlp.gate.weight', new Float32Array(moe.experts * H));
    const x = Float64Array.from(gaussian(5 * H, 9));
    const t = (name: string) => tensors.get(name) as Float32Array;
    const out = referenceSparseMoe(
      { config, t, shape: { sequences: 1, seqLen: 5 }, expertCalibration: 'routed' },
      'model.layers.0',
      x,
    );
    const mean = new Float64Array(5 * H);
    for (let e = 0; e < moe.experts; e++) {
      const expert = (part: string) => t(`model.layers.0.mlp.experts.${e}.${part}.weight`);
      const gate = referenceLinear(x, 5, expert('gate_proj'), M, H);
      const up = referenceLinear(x, 5, expert('up_proj'), M, H);
      const y = referenceLinear(
        gate.map((g, i) => referenceActivation('silu', g) * up[i]),
        5,
        expert('down_proj'),
        H,
        M,
      );
      for (let i = 0; i < mean.length; i++) mean[i] += y[i] / moe.experts;
    }
    expectSame(out, mean);
  });

  it('routing: softmax over the experts, the k most probable, renormalised only with norm_topk_prob', () => {
    const router = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]); // 4 experts × 3 features
    const x = [2, 1, 0];
    const logits = [2, 1, 0, 3];
    const total = logits.reduce((s, l) => s + Math.exp(l), 0);
    const routed = referenceRoute(x, 1, 3, router, { experts: 4, topK: 2, normalizeTopK: false });
    expect(Array.from(routed.experts)).toEqual([3, 0]);
    expect(routed.weights[0]).toBeCloseTo(Math.exp(3) / total, 15);
    expect(routed.weights[1]).toBeCloseTo(Math.exp(2) / total, 15);
    const normalized = referenceRoute(x, 1, 3, router, { experts: 4, topK: 2, normalizeTopK: true });
    expect(normalized.weights[0]).toBeCloseTo(Math.exp(3) / (Math.exp(3) + Math.exp(2)), 15);
  });
});

describe('mixture-of-experts capture for SparseGPT', () => {
  it('each expert gets the rows of the tokens routed to it, or of every token; the forward does not change', () => {
    const qwen = familyCheckpoint('Qwen/Qwen3-30B-A3B');
    const moe = qwen.config.moe;
    if (!moe) throw new Error('Qwen3-MoE has experts');
    const tokens = SHAPE.sequences * SHAPE.seqLen;
    const ids = randomIds(tokens, qwen.config.vocabSize, 11);
    const tensor = (name: string) => qwen.tensor(name);
    for (const mode of ['routed', 'all'] as const) {
      const model = new ReferenceModel(qwen.config, tensor, qwen.names, { expertCalibration: mode });
      const counts = new Map<number, number>();
      let mlpInput: Float64Array | undefined;
      const captured = new Map<number, Float64Array>();
      model.block(0, model.embed(ids, SHAPE), SHAPE, (role, X, count, expert) => {
        if (role === 'attention_output') return;
        if (role === 'mlp' && expert !== undefined) {
          counts.set(expert, count);
          captured.set(expert, X);
        }
        if (role === 'mlp' && expert === undefined) mlpInput = X;
      });
      expect(mlpInput).toBeUndefined();
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      if (mode === 'routed') expect(total).toBe(tokens * moe.topK);
      else expect([...counts.values()]).toEqual(Array.from({ length: moe.experts }, () => tokens));
      for (const [expert, X] of captured)
        expect(X.length).toBe((counts.get(expert) ?? 0) * qwen.config.hiddenSize);
    }
    expectSame(nll(qwen), nll(qwen, qwen.config, qwen.tensors, SHAPE, { expertCalibration: 'all' }));
  });
});

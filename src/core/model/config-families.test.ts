/**
 * config.json of Qwen3, Gemma 2/3, Phi-3/4, Mistral, Mixtral and Qwen3-MoE as published (test/family-configs.ts) and
 * with transformers' defaults, and the fields a config may carry that this tool does not model, refused by name.
 */
import { describe, expect, it } from 'vitest';
import { REAL_CONFIGS } from '../../../test/family-configs';
import { ModelFileError } from '../io/errors';
import { parseModelConfig } from './config';
import { inModelDtype } from './config-decoders';

const real = (name: string, overrides: Record<string, unknown> = {}) =>
  parseModelConfig({ ...REAL_CONFIGS[name], ...overrides });

function refusal(json: unknown): ModelFileError {
  try {
    parseModelConfig(json);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    return error as ModelFileError;
  }
  throw new Error('expected a ModelFileError');
}

describe('parseModelConfig: the 2026 families as published', () => {
  it('Qwen3-0.6B: per-head q/k norms, explicit head_dim, no biases, no window (use_sliding_window false)', () => {
    const config = real('Qwen/Qwen3-0.6B');
    expect(config).toMatchObject({
      modelType: 'qwen3',
      family: 'llama',
      hiddenSize: 1024,
      numHeads: 16,
      numKvHeads: 8,
      headDim: 128,
      qkNorm: true,
      tiedEmbeddings: true,
      biases: { qkv: false, o: false, mlp: false },
      positional: { kind: 'rope', theta: 1e6, partialRotaryFactor: 1 },
    });
    expect(config.layerTypes).toBeUndefined();
    expect(config.slidingWindow).toBeUndefined();
    expect(config.normUnitOffset).toBeUndefined();
  });

  it('gemma-3-270m: 5 sliding layers to 1 full from layer_types, local RoPE base, (1 + w) norms, √640 in bfloat16', () => {
    const config = real('google/gemma-3-270m');
    expect(config.layerTypes).toHaveLength(18);
    expect(config.layerTypes?.flatMap((type, i) => (type === 'full' ? [i] : []))).toEqual([5, 11, 17]);
    expect(config).toMatchObject({
      modelType: 'gemma3_text',
      headDim: 256,
      numKvHeads: 1,
      slidingWindow: 512,
      qkNorm: true,
      normUnitOffset: true,
      sandwichNorms: true,
      activation: 'gelu_pytorch_tanh',
      attentionScale: 1 / 16,
      tiedEmbeddings: true,
      positional: { kind: 'rope', theta: 1e6 },
      slidingPositional: { kind: 'rope', theta: 10000, partialRotaryFactor: 1 },
    });
    // √640 = 25.298… is 25.25 in bfloat16, as transformers multiplies in the weights' dtype.
    expect(config.embeddingScale).toBe(25.25);
    expect(config.attentionSoftcap).toBeUndefined();
    expect(config.finalLogitSoftcap).toBeUndefined();
  });

  it('gemma-3-1b: the same pattern from sliding_window_pattern 6; √1152 = 33.94 is 34 in bfloat16', () => {
    const config = real('google/gemma-3-1b-pt');
    expect(config.layerTypes?.flatMap((type, i) => (type === 'full' ? [i] : []))).toEqual([5, 11, 17, 23]);
    expect(config.embeddingScale).toBe(34);
    expect(inModelDtype(Math.sqrt(3072), 'bfloat16')).toBe(55.5);
    expect(inModelDtype(Math.sqrt(3072), 'float16')).toBe(55.4375);
    expect(inModelDtype(Math.sqrt(3072), undefined)).toBe(Math.fround(Math.sqrt(3072)));
  });

  it('gemma-2-2b: every other layer sliding, attention and final soft-capping, float32 embedding scale', () => {
    const config = real('google/gemma-2-2b');
    expect(config.layerTypes?.slice(0, 4)).toEqual(['sliding', 'full', 'sliding', 'full']);
    expect(config).toMatchObject({
      modelType: 'gemma2',
      slidingWindow: 4096,
      attentionSoftcap: 50,
      finalLogitSoftcap: 30,
      embeddingScale: 48,
      attentionScale: 1 / 16,
      normUnitOffset: true,
      sandwichNorms: true,
    });
    expect(config.qkNorm).toBeUndefined();
    expect(config.slidingPositional).toBeUndefined();
  });

  it('Phi-3-mini-4k: fused projections, a 2047-token window on every layer, no biases', () => {
    const config = real('microsoft/Phi-3-mini-4k-instruct');
    expect(config).toMatchObject({
      modelType: 'phi3',
      fusedProjections: true,
      slidingWindow: 2047,
      headDim: 96,
      biases: { qkv: false, o: false, mlp: false },
      tiedEmbeddings: false,
    });
    expect(new Set(config.layerTypes)).toEqual(new Set(['sliding']));
    expect(config.positional).toEqual({ kind: 'rope', theta: 10000, partialRotaryFactor: 1 });
  });

  it('Phi-4-mini: LongRoPE with 48 short and long factors, factor 131072 / 4096, partial rotary 0.75', () => {
    const config = real('microsoft/Phi-4-mini-instruct');
    expect(config.positional).toMatchObject({ kind: 'rope', theta: 10000, partialRotaryFactor: 0.75 });
    const scaling = config.positional.kind === 'rope' ? config.positional.scaling : undefined;
    expect(scaling).toMatchObject({ type: 'longrope', factor: 32, originalMaxPositions: 4096 });
    expect(scaling?.shortFactor).toHaveLength(48);
    expect(scaling?.longFactor?.[47]).toBe(47.77);
    expect(scaling?.attentionFactor).toBeUndefined();
    expect(config).toMatchObject({
      numKvHeads: 8,
      headDim: 128,
      tiedEmbeddings: true,
      slidingWindow: 262144,
    });
    // Earlier Phi-3 releases named LongRoPE "su"; Phi3Config reads it as longrope.
    const su = real('microsoft/Phi-4-mini-instruct', {
      rope_scaling: { ...(REAL_CONFIGS['microsoft/Phi-4-mini-instruct'].rope_scaling as object), type: 'su' },
    });
    expect(su.positional).toEqual(config.positional);
  });

  it('Mistral-7B-v0.1: its 4096-token window on every layer; a bare mistral config gets MistralConfig’s 4096', () => {
    expect(real('mistralai/Mistral-7B-v0.1')).toMatchObject({ slidingWindow: 4096 });
    expect(parseModelConfig({ model_type: 'mistral' })).toMatchObject({ slidingWindow: 4096 });
    const none = parseModelConfig({ model_type: 'mistral', sliding_window: null });
    expect(none.slidingWindow).toBeUndefined();
    expect(none.layerTypes).toBeUndefined();
  });

  it('Qwen2: the window applies from max_window_layers on, only with use_sliding_window', () => {
    const base = { model_type: 'qwen2', num_hidden_layers: 4, sliding_window: 32, max_window_layers: 2 };
    expect(parseModelConfig(base).slidingWindow).toBeUndefined();
    const windowed = parseModelConfig({ ...base, use_sliding_window: true });
    expect(windowed).toMatchObject({ slidingWindow: 32, layerTypes: ['full', 'full', 'sliding', 'sliding'] });
  });

  it('Mixtral-8x7B: 8 experts, top 2, always renormalised; no window', () => {
    const config = real('mistralai/Mixtral-8x7B-v0.1');
    expect(config.moe).toEqual({
      layout: 'mixtral',
      experts: 8,
      topK: 2,
      normalizeTopK: true,
      expertIntermediateSize: 14336,
      denseLayers: [],
    });
    expect(config.slidingWindow).toBeUndefined();
    expect(config.biases).toEqual({ qkv: false, o: false, mlp: false });
  });

  it('Qwen3-30B-A3B: 128 experts, top 8, norm_topk_prob; dense layers from mlp_only_layers and decoder_sparse_step', () => {
    const config = real('Qwen/Qwen3-30B-A3B');
    expect(config.moe).toEqual({
      layout: 'qwen3_moe',
      experts: 128,
      topK: 8,
      normalizeTopK: true,
      expertIntermediateSize: 768,
      denseLayers: [],
    });
    expect(config).toMatchObject({ qkNorm: true, headDim: 128, intermediateSize: 6144 });
    const mixed = real('Qwen/Qwen3-30B-A3B', {
      num_hidden_layers: 6,
      mlp_only_layers: [0],
      decoder_sparse_step: 2,
    });
    expect(mixed.moe?.denseLayers).toEqual([0, 2, 4]);
    expect(parseModelConfig({ model_type: 'qwen3_moe' }).moe?.normalizeTopK).toBe(false);
  });
});

describe('parseModelConfig: transformers defaults and the v5 formats of the new families', () => {
  it('a bare gemma2 config: softcaps 50 / 30, window 4096 on even layers, query_pre_attn_scalar 256', () => {
    const config = parseModelConfig({ model_type: 'gemma2', num_hidden_layers: 4 });
    expect(config).toMatchObject({
      attentionSoftcap: 50,
      finalLogitSoftcap: 30,
      slidingWindow: 4096,
      layerTypes: ['sliding', 'full', 'sliding', 'full'],
      headDim: 256,
      attentionScale: 1 / 16,
      tiedEmbeddings: true,
    });
    const uncapped = parseModelConfig({ model_type: 'gemma2', attn_logit_softcapping: null });
    expect(uncapped.attentionSoftcap).toBeUndefined();
  });

  it('gemma3_text: transformers 5 rope_parameters keyed by layer type', () => {
    const config = parseModelConfig({
      model_type: 'gemma3_text',
      num_hidden_layers: 6,
      rope_parameters: {
        full_attention: { rope_type: 'linear', factor: 8, rope_theta: 1e6 },
        sliding_attention: { rope_type: 'default', rope_theta: 10000 },
      },
    });
    expect(config.positional).toMatchObject({ theta: 1e6, scaling: { type: 'linear', factor: 8 } });
    expect(config.slidingPositional).toEqual({ kind: 'rope', theta: 10000, partialRotaryFactor: 1 });
    const v4 = parseModelConfig({
      model_type: 'gemma3_text',
      num_hidden_layers: 6,
      rope_scaling: { rope_type: 'linear', factor: 8 },
    });
    expect(v4.positional).toEqual(config.positional);
    expect(v4.slidingPositional).toEqual(config.slidingPositional);
  });
});

describe('parseModelConfig: what is not modelled is refused by name', () => {
  it('EmbeddingGemma’s bidirectional attention', () => {
    const error = refusal({ model_type: 'gemma3_text', use_bidirectional_attention: true });
    expect(error.code).toBe('unsupported-architecture');
    expect(error.message).toMatch(/"use_bidirectional_attention": true is not supported for gemma3_text/);
  });

  it('a layer type other than full and sliding attention', () => {
    const error = refusal({
      model_type: 'qwen3',
      num_hidden_layers: 2,
      layer_types: ['full_attention', 'chunked_attention'],
    });
    expect(error.message).toMatch(/"layer_types".*layer type "chunked_attention" is not modelled/);
    expect(
      refusal({ model_type: 'gemma2', num_hidden_layers: 3, layer_types: ['full_attention'] }).message,
    ).toMatch(/"layer_types" is .*; expected a list of 3 layer types/);
  });

  it('Qwen3-MoE with use_sliding_window, whose meaning changed between transformers versions', () => {
    expect(refusal({ model_type: 'qwen3_moe', use_sliding_window: true }).message).toMatch(
      /"use_sliding_window": true/,
    );
  });

  it('RoPE types and RoPE keys that would be ignored', () => {
    expect(refusal({ model_type: 'llama', rope_scaling: { rope_type: 'mrope', factor: 2 } }).message).toMatch(
      /rope_type "mrope" is not modelled; supported: default, linear, dynamic, llama3, yarn, longrope/,
    );
    const mscale = refusal({
      model_type: 'qwen3',
      rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768, mscale: 0.5 },
    });
    expect(mscale.message).toMatch(/"rope_scaling".*rope_type yarn with "mscale"/);
    const beta = refusal({
      model_type: 'qwen3',
      rope_scaling: { rope_type: 'yarn', factor: 4, beta_fast: 16 },
    });
    expect(beta.message).toMatch(/"beta_fast" other than 32/);
    // Keys transformers does not read for the type are ignored, as transformers ignores them.
    const linear = parseModelConfig({
      model_type: 'llama',
      rope_scaling: { type: 'linear', factor: 2, original_max_position_embeddings: 4096 },
    });
    expect(linear.positional).toMatchObject({ scaling: { type: 'linear', factor: 2 } });
    // The defaults themselves are what rope.ts computes with.
    expect(() =>
      parseModelConfig({
        model_type: 'qwen3',
        rope_scaling: { rope_type: 'yarn', factor: 4, beta_fast: 32, beta_slow: 1 },
      }),
    ).not.toThrow();
  });

  it('LongRoPE factor lists that do not match the rotated dimensions', () => {
    const json = REAL_CONFIGS['microsoft/Phi-4-mini-instruct'];
    const error = refusal({
      ...json,
      rope_scaling: { type: 'longrope', short_factor: [1, 1], long_factor: [1, 2] },
    });
    expect(error.message).toMatch(/"short_factor" lists 48 positive numbers/);
  });

  it('an activation this tool does not compute, by the field Gemma reads', () => {
    expect(refusal({ model_type: 'gemma2', hidden_activation: 'gelu_fast' }).message).toMatch(
      /"hidden_activation" is "gelu_fast"/,
    );
  });

  it('multimodal Gemma 3 points at its text-only checkpoints', () => {
    expect(refusal({ model_type: 'gemma3' }).message).toMatch(/multimodal Gemma 3.*gemma3_text/);
  });
});

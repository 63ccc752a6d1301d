/** config.json parsing against published configs (abridged to the fields transformers reads) and transformers' defaults. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { memoryByteSource } from '../io/bytes';
import { ModelFileError } from '../io/errors';
import { createModelFolder } from '../io/folder';
import { loadModelConfig, parseModelConfig } from './config';

const shared = new URL('../../../../shared/models/stories260K/', import.meta.url);

describe('parseModelConfig: Llama family', () => {
  it('stories260K (the shared model)', async () => {
    const bytes = readFileSync(new URL('config.json', shared));
    const config = await loadModelConfig(
      createModelFolder('stories260K', [['config.json', memoryByteSource(bytes, 'config.json')]]),
    );
    expect(config).toEqual({
      modelType: 'llama',
      family: 'llama',
      hiddenSize: 64,
      intermediateSize: 172,
      numLayers: 5,
      numHeads: 8,
      numKvHeads: 4,
      headDim: 8,
      vocabSize: 512,
      maxPositions: 512,
      norm: { kind: 'rmsnorm', eps: 1e-5 },
      activation: 'silu',
      positional: { kind: 'rope', theta: 10000, partialRotaryFactor: 1 },
      biases: { qkv: false, o: false, mlp: false },
      tiedEmbeddings: true,
      doLayerNormBefore: true,
      bosTokenId: 1,
      eosTokenId: 2,
      torchDtype: 'float32',
    });
  });

  it('Llama 3.2 1B: llama3 rope scaling, explicit head_dim, several eos ids', () => {
    const config = parseModelConfig({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: 2048,
      intermediate_size: 8192,
      num_hidden_layers: 16,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 64,
      vocab_size: 128256,
      max_position_embeddings: 131072,
      rms_norm_eps: 1e-5,
      rope_theta: 500000.0,
      rope_scaling: {
        factor: 32.0,
        high_freq_factor: 4.0,
        low_freq_factor: 1.0,
        original_max_position_embeddings: 8192,
        rope_type: 'llama3',
      },
      tie_word_embeddings: true,
      bos_token_id: 128000,
      eos_token_id: [128001, 128008, 128009],
      torch_dtype: 'bfloat16',
    });
    expect(config).toMatchObject({
      numKvHeads: 8,
      headDim: 64,
      positional: {
        kind: 'rope',
        theta: 500000,
        scaling: {
          type: 'llama3',
          factor: 32,
          lowFreqFactor: 1,
          highFreqFactor: 4,
          originalMaxPositions: 8192,
        },
      },
      tiedEmbeddings: true,
      bosTokenId: 128000,
      eosTokenId: 128001,
      torchDtype: 'bfloat16',
    });
  });

  it('SmolLM-135M (model_type llama): head_dim from hidden_size / heads', () => {
    const config = parseModelConfig({
      model_type: 'llama',
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      vocab_size: 49152,
      max_position_embeddings: 2048,
      rms_norm_eps: 1e-5,
      rope_theta: 10000.0,
      rope_scaling: null,
      tie_word_embeddings: true,
      bos_token_id: 0,
      eos_token_id: 0,
    });
    expect(config).toMatchObject({ headDim: 64, numKvHeads: 3, bosTokenId: 0, eosTokenId: 0 });
    expect(config.positional).toEqual({ kind: 'rope', theta: 10000, partialRotaryFactor: 1 });
  });

  it('a bare llama config gets LlamaConfig defaults (kv heads = heads, theta 10000)', () => {
    const config = parseModelConfig({ model_type: 'llama' });
    expect(config).toMatchObject({
      hiddenSize: 4096,
      intermediateSize: 11008,
      numLayers: 32,
      numHeads: 32,
      numKvHeads: 32,
      headDim: 128,
      vocabSize: 32000,
      maxPositions: 2048,
      norm: { kind: 'rmsnorm', eps: 1e-6 },
      positional: { kind: 'rope', theta: 10000, partialRotaryFactor: 1 },
      tiedEmbeddings: false,
      bosTokenId: 1,
      eosTokenId: 2,
    });
    expect(parseModelConfig({ model_type: 'llama', num_key_value_heads: null }).numKvHeads).toBe(32);
  });

  it('Mistral 7B and Qwen2.5 0.5B (q/k/v biases, no o bias)', () => {
    const mistral = parseModelConfig({
      model_type: 'mistral',
      hidden_size: 4096,
      intermediate_size: 14336,
      num_hidden_layers: 32,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      vocab_size: 32000,
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-5,
      rope_theta: 10000.0,
      sliding_window: 4096,
      tie_word_embeddings: false,
    });
    expect(mistral).toMatchObject({ family: 'llama', numKvHeads: 8, headDim: 128 });
    expect(mistral.biases).toEqual({ qkv: false, o: false, mlp: false });
    const qwen = parseModelConfig({
      architectures: ['Qwen2ForCausalLM'],
      model_type: 'qwen2',
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      vocab_size: 151936,
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000.0,
      tie_word_embeddings: true,
      bos_token_id: 151643,
      eos_token_id: 151643,
      hidden_act: 'silu',
    });
    expect(qwen).toMatchObject({ modelType: 'qwen2', headDim: 64, numKvHeads: 2, tiedEmbeddings: true });
    expect(qwen.biases).toEqual({ qkv: true, o: false, mlp: false });
    expect(qwen.positional).toMatchObject({ theta: 1_000_000 });
  });

  it('attention_bias and mlp_bias, linear rope scaling, transformers 5 rope_parameters', () => {
    const config = parseModelConfig({
      model_type: 'llama',
      attention_bias: true,
      mlp_bias: true,
      rope_scaling: { type: 'linear', factor: 4 },
    });
    expect(config.biases).toEqual({ qkv: true, o: true, mlp: true });
    expect(config.positional).toMatchObject({ scaling: { type: 'linear', factor: 4 } });
    const v5 = parseModelConfig({
      model_type: 'llama',
      rope_parameters: { rope_type: 'default', rope_theta: 500000 },
    });
    expect(v5.positional).toEqual({ kind: 'rope', theta: 500000, partialRotaryFactor: 1 });
  });
});

describe('parseModelConfig: OPT and GPT-2', () => {
  it('opt-125m: learned positions with offset 2, biases, relu', () => {
    const config = parseModelConfig({
      architectures: ['OPTForCausalLM'],
      model_type: 'opt',
      hidden_size: 768,
      ffn_dim: 3072,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      vocab_size: 50272,
      max_position_embeddings: 2048,
      do_layer_norm_before: true,
      word_embed_proj_dim: 768,
      activation_function: 'relu',
      bos_token_id: 2,
      eos_token_id: 2,
      pad_token_id: 1,
      torch_dtype: 'float16',
    });
    expect(config).toEqual({
      modelType: 'opt',
      family: 'opt',
      hiddenSize: 768,
      intermediateSize: 3072,
      numLayers: 12,
      numHeads: 12,
      numKvHeads: 12,
      headDim: 64,
      vocabSize: 50272,
      maxPositions: 2048,
      norm: { kind: 'layernorm', eps: 1e-5 },
      activation: 'relu',
      positional: { kind: 'learned', offset: 2 },
      biases: { qkv: true, o: true, mlp: true },
      tiedEmbeddings: true,
      doLayerNormBefore: true,
      bosTokenId: 2,
      eosTokenId: 2,
      torchDtype: 'float16',
    });
  });

  it('opt-350m: post-norm and a 512-wide embedding projection; enable_bias false', () => {
    const config = parseModelConfig({
      model_type: 'opt',
      hidden_size: 1024,
      ffn_dim: 4096,
      num_hidden_layers: 24,
      num_attention_heads: 16,
      do_layer_norm_before: false,
      word_embed_proj_dim: 512,
    });
    expect(config).toMatchObject({ doLayerNormBefore: false, wordEmbedProjDim: 512, headDim: 64 });
    expect(parseModelConfig({ model_type: 'opt', enable_bias: false }).biases).toEqual({
      qkv: false,
      o: false,
      mlp: false,
    });
  });

  it('gpt2: n_* names, n_inner null → 4 × n_embd, gelu_new', () => {
    const config = parseModelConfig({
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      n_embd: 768,
      n_layer: 12,
      n_head: 12,
      n_inner: null,
      n_positions: 1024,
      n_ctx: 1024,
      layer_norm_epsilon: 1e-5,
      activation_function: 'gelu_new',
      vocab_size: 50257,
      bos_token_id: 50256,
      eos_token_id: 50256,
    });
    expect(config).toMatchObject({
      family: 'gpt2',
      hiddenSize: 768,
      intermediateSize: 3072,
      numLayers: 12,
      numHeads: 12,
      numKvHeads: 12,
      headDim: 64,
      maxPositions: 1024,
      norm: { kind: 'layernorm', eps: 1e-5 },
      activation: 'gelu_new',
      positional: { kind: 'learned', offset: 0 },
      biases: { qkv: true, o: true, mlp: true },
      tiedEmbeddings: true,
    });
    expect(
      parseModelConfig({ model_type: 'gpt2', n_embd: 64, n_head: 4, n_inner: 100 }).intermediateSize,
    ).toBe(100);
  });

  it('model_type from architectures when the field is missing', () => {
    expect(parseModelConfig({ architectures: ['GPT2LMHeadModel'] }).family).toBe('gpt2');
  });
});

describe('parseModelConfig: bad configs', () => {
  const error = (json: unknown) => {
    try {
      parseModelConfig(json);
    } catch (e) {
      expect(e).toBeInstanceOf(ModelFileError);
      return e as ModelFileError;
    }
    throw new Error('expected a ModelFileError');
  };

  it('names the field, the value and what was expected', () => {
    const text = error({ model_type: 'llama', hidden_size: '4096' });
    expect(text).toMatchObject({ code: 'bad-config', file: 'config.json' });
    expect(text.message).toBe('config.json: "hidden_size" is "4096"; expected a whole number ≥ 1');
    expect(error({ model_type: 'llama', num_attention_heads: 32, num_key_value_heads: 5 }).message).toMatch(
      /"num_key_value_heads" is 5; expected a divisor of num_attention_heads \(32\)/,
    );
    expect(error({ model_type: 'llama', hidden_size: 100, num_attention_heads: 3 }).message).toMatch(
      /expected a divisor of hidden_size \(100\) when head_dim is absent/,
    );
    expect(error({ model_type: 'llama', hidden_act: 'swiglu2' }).message).toMatch(
      /"hidden_act" is "swiglu2"/,
    );
    expect(error({ model_type: 'llama', rope_scaling: { rope_type: 'llama3', factor: 8 } }).message).toMatch(
      /"low_freq_factor" \(needed by rope_type llama3\)/,
    );
  });

  it('not an object, no model_type, unsupported architecture', () => {
    expect(error([1, 2]).message).toBe('config.json is not a JSON object');
    expect(error({ hidden_size: 4 }).message).toMatch(/has no "model_type"/);
    const unsupported = error({ model_type: 'bert' });
    expect(unsupported.code).toBe('unsupported-architecture');
    expect(unsupported.message).toMatch(
      /model_type "bert" is not supported\. Supported: llama, mistral, qwen2/,
    );
    expect(error({ model_type: 'constructor' }).code).toBe('unsupported-architecture');
  });
});

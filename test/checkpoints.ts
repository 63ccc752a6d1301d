/**
 * Small random checkpoints in the exact Hugging Face layout (tensor names and shapes as transformers saves
 * LlamaForCausalLM, OPTForCausalLM and GPT2LMHeadModel), with configs, for forward and pipeline tests.
 * Weights are scaled so activations stay O(1) and the LM head's softmax is far from uniform, which makes NLL
 * comparisons meaningful.
 */
import { describeArchitecture } from '../src/core/forward/architecture';
import { memoryByteSource } from '../src/core/io/bytes';
import { openCheckpoint } from '../src/core/io/checkpoint';
import { createModelFolder } from '../src/core/io/folder';
import { encodeSafetensors } from '../src/core/io/safetensors-write';
import type { ModelConfig } from '../src/core/model/types';
import type { OpenedModel } from '../src/core/pipeline/open-model';
import type { ModelSummary } from '../src/core/pipeline/types';
import type { TextTokenizer } from '../src/core/tokenizer/text-tokenizer';
import { gaussian, mulberry32 } from './random';

export interface RandomCheckpoint {
  config: ModelConfig;
  tensors: Map<string, Float32Array>;
  names: string[];
  tensor(name: string): Float32Array;
}

export function tinyLlamaConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    modelType: 'llama',
    family: 'llama',
    hiddenSize: 24,
    intermediateSize: 40,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 6,
    vocabSize: 53,
    maxPositions: 64,
    norm: { kind: 'rmsnorm', eps: 1e-5 },
    activation: 'silu',
    positional: { kind: 'rope', theta: 10000, partialRotaryFactor: 1 },
    biases: { qkv: false, o: false, mlp: false },
    tiedEmbeddings: false,
    doLayerNormBefore: true,
    ...overrides,
  };
}

export function tinyOptConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    modelType: 'opt',
    family: 'opt',
    hiddenSize: 20,
    intermediateSize: 36,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 4,
    headDim: 5,
    vocabSize: 61,
    maxPositions: 32,
    norm: { kind: 'layernorm', eps: 1e-5 },
    activation: 'relu',
    positional: { kind: 'learned', offset: 2 },
    biases: { qkv: true, o: true, mlp: true },
    tiedEmbeddings: true,
    doLayerNormBefore: true,
    ...overrides,
  };
}

export function tinyGpt2Config(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    modelType: 'gpt2',
    family: 'gpt2',
    hiddenSize: 16,
    intermediateSize: 64,
    numLayers: 2,
    numHeads: 2,
    numKvHeads: 2,
    headDim: 8,
    vocabSize: 57,
    maxPositions: 40,
    norm: { kind: 'layernorm', eps: 1e-5 },
    activation: 'gelu_new',
    positional: { kind: 'learned', offset: 0 },
    biases: { qkv: true, o: true, mlp: true },
    tiedEmbeddings: true,
    doLayerNormBefore: true,
    ...overrides,
  };
}

export interface CheckpointOptions {
  seed?: number;
  /** Name prefix: 'model.' (llama), 'model.decoder.' or 'decoder.' (opt), 'transformer.' or '' (gpt2). */
  prefix?: string;
}

export function randomCheckpoint(config: ModelConfig, options: CheckpointOptions = {}): RandomCheckpoint {
  const tensors = new Map<string, Float32Array>();
  let seed = options.seed ?? 1;
  const normal = (count: number, std: number, mean = 0) => gaussian(count, seed++).map((x) => mean + std * x);
  const weight = (name: string, rows: number, cols: number, fanIn = cols) =>
    tensors.set(name, normal(rows * cols, 1 / Math.sqrt(fanIn)));
  const vector = (name: string, size: number, std: number, mean = 0) =>
    tensors.set(name, normal(size, std, mean));
  const layerNorm = (name: string, size: number) => {
    vector(`${name}.weight`, size, 0.1, 1);
    vector(`${name}.bias`, size, 0.1);
  };
  const { hiddenSize: H, intermediateSize: F, vocabSize: V } = config;

  if (config.family === 'llama') {
    const p = options.prefix ?? 'model.';
    const q = config.numHeads * config.headDim;
    const kv = config.numKvHeads * config.headDim;
    vector(`${p}embed_tokens.weight`, V * H, 1);
    for (let i = 0; i < config.numLayers; i++) {
      const l = `${p}layers.${i}.`;
      vector(`${l}input_layernorm.weight`, H, 0.1, 1);
      for (const [name, rows] of [
        ['q_proj', q],
        ['k_proj', kv],
        ['v_proj', kv],
      ] as const) {
        weight(`${l}self_attn.${name}.weight`, rows, H);
        if (config.biases.qkv) vector(`${l}self_attn.${name}.bias`, rows, 0.3);
      }
      weight(`${l}self_attn.o_proj.weight`, H, q);
      if (config.biases.o) vector(`${l}self_attn.o_proj.bias`, H, 0.1);
      vector(`${l}post_attention_layernorm.weight`, H, 0.1, 1);
      for (const [name, rows, cols] of [
        ['gate_proj', F, H],
        ['up_proj', F, H],
        ['down_proj', H, F],
      ] as const) {
        weight(`${l}mlp.${name}.weight`, rows, cols);
        if (config.biases.mlp) vector(`${l}mlp.${name}.bias`, rows, 0.1);
      }
    }
    vector(`${p}norm.weight`, H, 0.1, 1);
    if (!config.tiedEmbeddings) vector('lm_head.weight', V * H, 1);
  } else if (config.family === 'opt') {
    const p = options.prefix ?? 'model.decoder.';
    const P = config.wordEmbedProjDim ?? H;
    vector(`${p}embed_tokens.weight`, V * P, 1);
    vector(`${p}embed_positions.weight`, (config.maxPositions + 2) * H, 0.5);
    if (P !== H) {
      weight(`${p}project_in.weight`, H, P);
      weight(`${p}project_out.weight`, P, H);
    }
    for (let i = 0; i < config.numLayers; i++) {
      const l = `${p}layers.${i}.`;
      for (const name of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
        weight(`${l}self_attn.${name}.weight`, H, H);
        vector(`${l}self_attn.${name}.bias`, H, 0.1);
      }
      layerNorm(`${l}self_attn_layer_norm`, H);
      weight(`${l}fc1.weight`, F, H);
      vector(`${l}fc1.bias`, F, 0.1);
      weight(`${l}fc2.weight`, H, F);
      vector(`${l}fc2.bias`, H, 0.1);
      layerNorm(`${l}final_layer_norm`, H);
    }
    if (config.doLayerNormBefore) layerNorm(`${p}final_layer_norm`, H);
    if (!config.tiedEmbeddings) vector('lm_head.weight', V * P, 1);
  } else {
    const p = options.prefix ?? 'transformer.';
    vector(`${p}wte.weight`, V * H, 1);
    vector(`${p}wpe.weight`, config.maxPositions * H, 0.5);
    for (let i = 0; i < config.numLayers; i++) {
      const l = `${p}h.${i}.`;
      layerNorm(`${l}ln_1`, H);
      // Conv1D weights are stored [in, out].
      weight(`${l}attn.c_attn.weight`, H, 3 * H, H);
      vector(`${l}attn.c_attn.bias`, 3 * H, 0.1);
      weight(`${l}attn.c_proj.weight`, H, H, H);
      vector(`${l}attn.c_proj.bias`, H, 0.1);
      layerNorm(`${l}ln_2`, H);
      weight(`${l}mlp.c_fc.weight`, H, F, H);
      vector(`${l}mlp.c_fc.bias`, F, 0.1);
      weight(`${l}mlp.c_proj.weight`, F, H, F);
      vector(`${l}mlp.c_proj.bias`, H, 0.1);
    }
    layerNorm(`${p}ln_f`, H);
  }
  return {
    config,
    tensors,
    names: [...tensors.keys()],
    tensor(name) {
      const data = tensors.get(name);
      if (!data) throw new Error(`random checkpoint has no tensor "${name}"`);
      return data;
    },
  };
}

/** Token ids drawn uniformly from the vocabulary. */
export function randomIds(count: number, vocab: number, seed: number): Int32Array {
  const next = mulberry32(seed);
  return Int32Array.from({ length: count }, () => Math.floor(next() * vocab));
}

/** The checkpoint as the forward's TensorSource. */
export function checkpointSource(checkpoint: RandomCheckpoint) {
  return async (name: string) => checkpoint.tensor(name);
}

/** Characters to ids modulo the vocabulary: a fixture standing in for a tokenizer, which is not under test. */
export function characterTokenizer(vocabSize: number): TextTokenizer {
  return {
    source: 'characters',
    vocabSize,
    addsBos: false,
    encode: (text) => Array.from(text, (ch) => (ch.codePointAt(0) ?? 0) % vocabSize),
    decode: (ids) => Array.from(ids, (id) => String.fromCodePoint(id + 32)).join(''),
  };
}

/** A random checkpoint opened as pruneModel takes it: safetensors in memory, a character tokenizer. */
export async function randomModel(config: ModelConfig, prefix?: string): Promise<OpenedModel> {
  return openRandomCheckpoint(config, randomCheckpoint(config, { prefix }));
}

/** Opens the (possibly edited) tensors of a random checkpoint as the pipeline would: F32 safetensors in memory. */
export async function openRandomCheckpoint(
  config: ModelConfig,
  random: RandomCheckpoint,
): Promise<OpenedModel> {
  const bytes = encodeSafetensors(
    random.names.map((name) => ({
      name,
      dtype: 'F32',
      shape: [random.tensor(name).length],
      data: random.tensor(name),
    })),
  );
  const folder = createModelFolder('random', [
    ['model.safetensors', memoryByteSource(bytes, 'model.safetensors')],
  ]);
  const checkpoint = await openCheckpoint(folder);
  const arch = describeArchitecture(config, random.names);
  const summary = { name: 'random', prunable: [] } as unknown as ModelSummary;
  return { folder, config, arch, checkpoint, tokenizer: characterTokenizer(config.vocabSize), summary };
}

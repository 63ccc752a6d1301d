/**
 * config.json → ModelConfig, with transformers' defaults for every field a config may leave out (LlamaConfig,
 * MistralConfig, Qwen2Config, OPTConfig, GPT2Config). Anything this tool cannot run gets an error that says what is
 * supported.
 */
import { ModelFileError } from '../io/errors';
import { type ModelFolder, readJsonFile, requireFile } from '../io/folder';
import type { Activation, ModelConfig, ModelFamily, Positional, RopeScaling } from './types';

/** model_type values per family: Llama-style decoders (SmolLM, TinyLlama … use "llama"), OPT and GPT-2. */
export const SUPPORTED_MODEL_TYPES: Record<string, ModelFamily> = {
  llama: 'llama',
  mistral: 'llama',
  qwen2: 'llama',
  opt: 'opt',
  gpt2: 'gpt2',
};

const ARCHITECTURE_TYPES: Record<string, string> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
  OPTForCausalLM: 'opt',
  GPT2LMHeadModel: 'gpt2',
};

const ACTIVATIONS: Record<string, Activation> = {
  silu: 'silu',
  swish: 'silu',
  gelu: 'gelu',
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_pytorch_tanh',
  relu: 'relu',
};

/** transformers' class defaults for the fields this parser reads. */
const LLAMA_DEFAULTS: Record<string, Record<string, unknown>> = {
  llama: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    hidden_act: 'silu',
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
    rope_theta: 10000,
    bos_token_id: 1,
    eos_token_id: 2,
  },
  mistral: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 14336,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    hidden_act: 'silu',
    max_position_embeddings: 4096 * 32,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
    rope_theta: 10000,
    bos_token_id: 1,
    eos_token_id: 2,
  },
  qwen2: {
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: 32,
    hidden_act: 'silu',
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
    rope_theta: 10000,
  },
};

const OPT_DEFAULTS: Record<string, unknown> = {
  vocab_size: 50272,
  hidden_size: 768,
  num_hidden_layers: 12,
  ffn_dim: 3072,
  max_position_embeddings: 2048,
  do_layer_norm_before: true,
  num_attention_heads: 12,
  activation_function: 'relu',
  enable_bias: true,
  tie_word_embeddings: true,
  bos_token_id: 2,
  eos_token_id: 2,
};

const GPT2_DEFAULTS: Record<string, unknown> = {
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  activation_function: 'gelu_new',
  layer_norm_epsilon: 1e-5,
  tie_word_embeddings: true,
  bos_token_id: 50256,
  eos_token_id: 50256,
};

/** Reads fields with defaults and reports bad values with the file and field named. */
class ConfigReader {
  constructor(
    private readonly json: Record<string, unknown>,
    private readonly defaults: Record<string, unknown>,
    private readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  explicitNull(key: string): boolean {
    return this.json[key] === null;
  }

  raw(key: string): unknown {
    return this.has(key) ? this.json[key] : this.defaults[key];
  }

  fail(key: string, expected: string): never {
    const value = JSON.stringify(this.json[key] ?? this.defaults[key])?.slice(0, 60);
    throw new ModelFileError('bad-config', `${this.file}: "${key}" is ${value}; expected ${expected}`, {
      file: this.file,
    });
  }

  positiveInteger(key: string): number {
    const value = this.raw(key);
    if (value === undefined) this.fail(key, 'a whole number ≥ 1 (the field is missing)');
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
      this.fail(key, 'a whole number ≥ 1');
    return value;
  }

  optionalInteger(key: string): number | undefined {
    return this.has(key) || this.defaults[key] !== undefined ? this.positiveInteger(key) : undefined;
  }

  positiveNumber(key: string): number {
    const value = this.raw(key);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      this.fail(key, 'a positive number');
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'boolean') this.fail(key, 'true or false');
    return value;
  }

  /** A token id, or the first of a list (Llama 3 lists several eos ids). */
  tokenId(key: string): number | undefined {
    const value = this.raw(key);
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined || first === null) return undefined;
    if (typeof first !== 'number' || !Number.isSafeInteger(first) || first < 0) this.fail(key, 'a token id');
    return first;
  }

  activation(key: string): Activation {
    const value = this.raw(key);
    const activation = typeof value === 'string' ? ACTIVATIONS[value] : undefined;
    if (!activation) this.fail(key, `one of ${Object.keys(ACTIVATIONS).join(', ')}`);
    return activation;
  }

  optionalString(key: string): string | undefined {
    const value = this.raw(key);
    return typeof value === 'string' ? value : undefined;
  }
}

function modelTypeOf(json: Record<string, unknown>, file: string): string {
  if (typeof json.model_type === 'string') return json.model_type;
  const architectures = Array.isArray(json.architectures) ? json.architectures : [];
  for (const name of architectures)
    if (typeof name === 'string' && ARCHITECTURE_TYPES[name]) return ARCHITECTURE_TYPES[name];
  throw new ModelFileError(
    'bad-config',
    `${file} has no "model_type": it does not look like a transformers model config`,
    { file },
  );
}

export function parseModelConfig(json: unknown, fileName = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFileError('bad-config', `${fileName} is not a JSON object`, { file: fileName });
  }
  const config = json as Record<string, unknown>;
  const modelType = modelTypeOf(config, fileName);
  const family = Object.hasOwn(SUPPORTED_MODEL_TYPES, modelType)
    ? SUPPORTED_MODEL_TYPES[modelType]
    : undefined;
  if (!family) {
    throw new ModelFileError(
      'unsupported-architecture',
      `model_type "${modelType}" is not supported. Supported: llama, mistral, qwen2 (Llama-style models such as ` +
        'Llama 2/3, SmolLM, TinyLlama, Mistral, Qwen2/2.5), opt and gpt2',
      { file: fileName },
    );
  }
  if (family === 'opt') return parseOpt(new ConfigReader(config, OPT_DEFAULTS, fileName), modelType);
  if (family === 'gpt2') return parseGpt2(new ConfigReader(config, GPT2_DEFAULTS, fileName), modelType);
  return parseLlama(new ConfigReader(config, LLAMA_DEFAULTS[modelType], fileName), modelType);
}

function attention(read: ConfigReader, hiddenKey: string, headsKey: string) {
  const hiddenSize = read.positiveInteger(hiddenKey);
  const numHeads = read.positiveInteger(headsKey);
  // An explicit null means "same as heads", as transformers' configs treat None.
  const kvDefault = read.explicitNull('num_key_value_heads') ? undefined : read.raw('num_key_value_heads');
  const numKvHeads = kvDefault === undefined ? numHeads : read.positiveInteger('num_key_value_heads');
  if (numHeads % numKvHeads !== 0) {
    read.fail('num_key_value_heads', `a divisor of ${headsKey} (${numHeads})`);
  }
  let headDim: number;
  if (read.has('head_dim')) headDim = read.positiveInteger('head_dim');
  else {
    if (hiddenSize % numHeads !== 0)
      read.fail(headsKey, `a divisor of ${hiddenKey} (${hiddenSize}) when head_dim is absent`);
    headDim = hiddenSize / numHeads;
  }
  return { hiddenSize, numHeads, numKvHeads, headDim };
}

function parseLlama(read: ConfigReader, modelType: string): ModelConfig {
  const { hiddenSize, numHeads, numKvHeads, headDim } = attention(read, 'hidden_size', 'num_attention_heads');
  // Llama and Mistral: attention_bias covers q, k, v and o. Qwen2: q, k, v always have biases, o never.
  const attentionBias = read.boolean('attention_bias', false);
  const qwen2 = modelType === 'qwen2';
  return {
    modelType,
    family: 'llama',
    hiddenSize,
    intermediateSize: read.positiveInteger('intermediate_size'),
    numLayers: read.positiveInteger('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: read.positiveInteger('vocab_size'),
    maxPositions: read.positiveInteger('max_position_embeddings'),
    norm: { kind: 'rmsnorm', eps: read.positiveNumber('rms_norm_eps') },
    activation: read.activation('hidden_act'),
    positional: ropePositional(read),
    biases: {
      qkv: qwen2 ? true : attentionBias,
      o: qwen2 ? false : attentionBias,
      mlp: read.boolean('mlp_bias', false),
    },
    tiedEmbeddings: read.boolean('tie_word_embeddings', false),
    doLayerNormBefore: true,
    bosTokenId: read.tokenId('bos_token_id'),
    eosTokenId: read.tokenId('eos_token_id'),
    torchDtype: read.optionalString('torch_dtype') ?? read.optionalString('dtype'),
  };
}

/** rope_theta and rope_scaling, or transformers 5's rope_parameters that holds both. */
function ropePositional(read: ConfigReader): Positional {
  const parameters = read.raw('rope_parameters');
  const scalingJson = isObject(parameters) ? parameters : read.raw('rope_scaling');
  let theta =
    isObject(parameters) && parameters.rope_theta !== undefined
      ? parameters.rope_theta
      : read.raw('rope_theta');
  theta ??= 10000;
  if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 0)
    read.fail('rope_theta', 'a positive number');
  const partial = read.raw('partial_rotary_factor') ?? 1;
  if (typeof partial !== 'number' || !(partial > 0 && partial <= 1)) {
    read.fail('partial_rotary_factor', 'a number in (0, 1]');
  }
  const scaling = parseRopeScaling(read, scalingJson);
  return { kind: 'rope', theta, partialRotaryFactor: partial, ...(scaling ? { scaling } : {}) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseRopeScaling(read: ConfigReader, json: unknown): RopeScaling | undefined {
  if (json === undefined || json === null) return undefined;
  const key = read.has('rope_parameters') ? 'rope_parameters' : 'rope_scaling';
  if (!isObject(json)) read.fail(key, 'an object');
  const type = json.rope_type ?? json.type ?? 'default';
  if (typeof type !== 'string') read.fail(key, 'an object with a string "rope_type"');
  if (type === 'default') return undefined;
  const number = (field: string, required: boolean): number | undefined => {
    const value = json[field];
    if (value === undefined || value === null) {
      if (required) read.fail(key, `an object with "${field}" (needed by rope_type ${type})`);
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      read.fail(key, `an object whose "${field}" is a positive number`);
    }
    return value;
  };
  const llama3 = type === 'llama3';
  const scaling: RopeScaling = { type, factor: number('factor', type !== 'longrope') ?? 1 };
  const low = number('low_freq_factor', llama3);
  const high = number('high_freq_factor', llama3);
  const original = number('original_max_position_embeddings', llama3);
  if (low !== undefined) scaling.lowFreqFactor = low;
  if (high !== undefined) scaling.highFreqFactor = high;
  if (original !== undefined) scaling.originalMaxPositions = original;
  return scaling;
}

function parseOpt(read: ConfigReader, modelType: string): ModelConfig {
  const { hiddenSize, numHeads, headDim } = attention(read, 'hidden_size', 'num_attention_heads');
  const projection = read.optionalInteger('word_embed_proj_dim');
  const bias = read.boolean('enable_bias', true);
  return {
    modelType,
    family: 'opt',
    hiddenSize,
    intermediateSize: read.positiveInteger('ffn_dim'),
    numLayers: read.positiveInteger('num_hidden_layers'),
    numHeads,
    numKvHeads: numHeads,
    headDim,
    vocabSize: read.positiveInteger('vocab_size'),
    maxPositions: read.positiveInteger('max_position_embeddings'),
    // OPT's nn.LayerNorm uses PyTorch's default eps.
    norm: { kind: 'layernorm', eps: 1e-5 },
    activation: read.activation('activation_function'),
    positional: { kind: 'learned', offset: 2 },
    biases: { qkv: bias, o: bias, mlp: bias },
    tiedEmbeddings: read.boolean('tie_word_embeddings', true),
    doLayerNormBefore: read.boolean('do_layer_norm_before', true),
    ...(projection !== undefined && projection !== hiddenSize ? { wordEmbedProjDim: projection } : {}),
    bosTokenId: read.tokenId('bos_token_id'),
    eosTokenId: read.tokenId('eos_token_id'),
    torchDtype: read.optionalString('torch_dtype') ?? read.optionalString('dtype'),
  };
}

function parseGpt2(read: ConfigReader, modelType: string): ModelConfig {
  const { hiddenSize, numHeads, headDim } = attention(read, 'n_embd', 'n_head');
  return {
    modelType,
    family: 'gpt2',
    hiddenSize,
    intermediateSize: read.has('n_inner') ? read.positiveInteger('n_inner') : 4 * hiddenSize,
    numLayers: read.positiveInteger('n_layer'),
    numHeads,
    numKvHeads: numHeads,
    headDim,
    vocabSize: read.positiveInteger('vocab_size'),
    maxPositions: read.positiveInteger('n_positions'),
    norm: { kind: 'layernorm', eps: read.positiveNumber('layer_norm_epsilon') },
    activation: read.activation('activation_function'),
    positional: { kind: 'learned', offset: 0 },
    biases: { qkv: true, o: true, mlp: true },
    tiedEmbeddings: read.boolean('tie_word_embeddings', true),
    doLayerNormBefore: true,
    bosTokenId: read.tokenId('bos_token_id'),
    eosTokenId: read.tokenId('eos_token_id'),
    torchDtype: read.optionalString('torch_dtype') ?? read.optionalString('dtype'),
  };
}

/** Reads and parses the folder's config.json. */
export async function loadModelConfig(folder: ModelFolder): Promise<ModelConfig> {
  const nested = [...folder.files.keys()].find((path) => path.endsWith('/config.json'));
  let source: ReturnType<typeof requireFile>;
  try {
    source = requireFile(folder, 'config.json');
  } catch {
    throw new ModelFileError(
      'missing-config',
      `${folder.name} has no config.json, so its architecture is unknown. ` +
        (nested
          ? `There is one in ${nested.slice(0, -'/config.json'.length)}/: choose that folder instead.`
          : 'Choose the folder of a Hugging Face model (with config.json and the .safetensors weights).'),
      { file: 'config.json' },
    );
  }
  return parseModelConfig(await readJsonFile(source), source.name);
}

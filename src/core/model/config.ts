/**
 * config.json → ModelConfig, with transformers' defaults for every field a config may leave out (the Llama-style
 * decoders in config-decoders.ts; OPTConfig, GPT2Config here). Anything this tool cannot run gets an error that says
 * what is supported, and fields it would not apply are refused by name.
 */
import { ModelFileError } from '../io/errors';
import { type ModelFolder, readJsonFile, requireFile } from '../io/folder';
import { DECODER_DEFAULTS, parseDecoder } from './config-decoders';
import { ConfigReader } from './config-reader';
import type { ModelConfig, ModelFamily } from './types';

/**
 * model_type values per family: Llama-style decoders (SmolLM, TinyLlama … use "llama"; Mistral, Qwen2/3, Phi-3/4,
 * Gemma 2/3, Mixtral and Qwen3-MoE add to the same block), OPT and GPT-2.
 */
export const SUPPORTED_MODEL_TYPES: Record<string, ModelFamily> = {
  llama: 'llama',
  mistral: 'llama',
  qwen2: 'llama',
  qwen3: 'llama',
  phi3: 'llama',
  gemma2: 'llama',
  gemma3_text: 'llama',
  mixtral: 'llama',
  qwen3_moe: 'llama',
  opt: 'opt',
  gpt2: 'gpt2',
};

const ARCHITECTURE_TYPES: Record<string, string> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'mistral',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
  Phi3ForCausalLM: 'phi3',
  Gemma2ForCausalLM: 'gemma2',
  Gemma3ForCausalLM: 'gemma3_text',
  MixtralForCausalLM: 'mixtral',
  Qwen3MoeForCausalLM: 'qwen3_moe',
  OPTForCausalLM: 'opt',
  GPT2LMHeadModel: 'gpt2',
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
    const hint =
      modelType === 'gemma3'
        ? ' (a multimodal Gemma 3; its text-only checkpoints, such as gemma-3-270m and gemma-3-1b, are gemma3_text)'
        : '';
    throw new ModelFileError(
      'unsupported-architecture',
      `model_type "${modelType}" is not supported${hint}. Supported: llama, mistral, qwen2 (Llama-style models ` +
        'such as Llama 2/3, SmolLM, TinyLlama, Mistral, Qwen2/2.5), the decoders built like them: qwen3, phi3 ' +
        '(Phi-3, Phi-4-mini), gemma2, gemma3_text, mixtral, qwen3_moe; opt and gpt2',
      { file: fileName },
    );
  }
  if (family === 'opt') return parseOpt(new ConfigReader(config, OPT_DEFAULTS, fileName), modelType);
  if (family === 'gpt2') return parseGpt2(new ConfigReader(config, GPT2_DEFAULTS, fileName), modelType);
  const read = new ConfigReader(config, DECODER_DEFAULTS[modelType], fileName, modelType);
  return parseDecoder(read, modelType, attention(read, 'hidden_size', 'num_attention_heads'));
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
  // Gemma and Qwen3 default head_dim to a width of their own; an explicit null means hidden / heads.
  if (!read.explicitNull('head_dim') && read.raw('head_dim') !== undefined)
    headDim = read.positiveInteger('head_dim');
  else {
    if (hiddenSize % numHeads !== 0)
      read.fail(headsKey, `a divisor of ${hiddenKey} (${hiddenSize}) when head_dim is absent`);
    headDim = hiddenSize / numHeads;
  }
  return { hiddenSize, numHeads, numKvHeads, headDim };
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

/**
 * config.json → ModelConfig for the Llama-style decoders (RMSNorm, RoPE, gated MLP): Llama, Mistral, Qwen2, Qwen3,
 * Phi-3/4, Mixtral, Qwen3-MoE, Gemma 2 and Gemma 3 text, with transformers' class defaults for every field a config
 * may leave out (LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config, Phi3Config, MixtralConfig, Qwen3MoeConfig,
 * Gemma2Config, Gemma3TextConfig, transformers 4.57 / 5.0). What each family adds to the Llama block is recorded as
 * the optional ModelConfig fields; a field that would change the model in a way not modelled here is refused by name.
 */
import { decodeFloats, encodeFloats } from '../io/dtype';
import type { ConfigReader } from './config-reader';
import { isObject } from './config-reader';
import { perLayerType, positionalFrom, ropePositional } from './config-rope';
import type { LayerType, ModelConfig, MoeConfig, Positional } from './types';

const COMMON = { hidden_act: 'silu', rms_norm_eps: 1e-6, tie_word_embeddings: false, rope_theta: 10000 };
const QWEN_WINDOWS = { use_sliding_window: false, sliding_window: 4096, max_window_layers: 28 };
/** MistralConfig's and MixtralConfig's shared shape. */
const MISTRAL_SHAPE = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  max_position_embeddings: 4096 * 32,
  bos_token_id: 1,
  eos_token_id: 2,
};
/** Qwen2Config's defaults; Qwen3Config's are the same with head_dim 128. */
const QWEN2 = {
  ...COMMON,
  ...QWEN_WINDOWS,
  vocab_size: 151936,
  hidden_size: 4096,
  intermediate_size: 22016,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  max_position_embeddings: 32768,
};
const GEMMA = {
  hidden_activation: 'gelu_pytorch_tanh',
  rms_norm_eps: 1e-6,
  tie_word_embeddings: true,
  head_dim: 256,
  query_pre_attn_scalar: 256,
  sliding_window: 4096,
  bos_token_id: 2,
  eos_token_id: 1,
};

/** transformers' class defaults for the fields this parser reads. */
export const DECODER_DEFAULTS: Record<string, Record<string, unknown>> = {
  llama: {
    ...COMMON,
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 2048,
    bos_token_id: 1,
    eos_token_id: 2,
  },
  mistral: { ...COMMON, ...MISTRAL_SHAPE, sliding_window: 4096 },
  qwen2: QWEN2,
  qwen3: { ...QWEN2, head_dim: 128 },
  qwen3_moe: {
    ...COMMON,
    ...QWEN_WINDOWS,
    vocab_size: 151936,
    hidden_size: 2048,
    intermediate_size: 6144,
    num_hidden_layers: 24,
    num_attention_heads: 32,
    num_key_value_heads: 4,
    max_position_embeddings: 32768,
    decoder_sparse_step: 1,
    moe_intermediate_size: 768,
    num_experts_per_tok: 8,
    num_experts: 128,
    norm_topk_prob: false,
  },
  phi3: {
    ...COMMON,
    rms_norm_eps: 1e-5,
    vocab_size: 32064,
    hidden_size: 3072,
    intermediate_size: 8192,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 4096,
    original_max_position_embeddings: 4096,
    bos_token_id: 1,
    eos_token_id: 32000,
  },
  mixtral: {
    ...COMMON,
    ...MISTRAL_SHAPE,
    rms_norm_eps: 1e-5,
    rope_theta: 1e6,
    num_experts_per_tok: 2,
    num_local_experts: 8,
  },
  gemma2: {
    ...GEMMA,
    vocab_size: 256000,
    hidden_size: 2304,
    intermediate_size: 9216,
    num_hidden_layers: 26,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    max_position_embeddings: 8192,
    rope_theta: 10000,
    final_logit_softcapping: 30,
    attn_logit_softcapping: 50,
  },
  gemma3_text: {
    ...GEMMA,
    vocab_size: 262208,
    hidden_size: 2304,
    intermediate_size: 9216,
    num_hidden_layers: 26,
    num_attention_heads: 8,
    num_key_value_heads: 4,
    max_position_embeddings: 131072,
    rope_theta: 1e6,
    rope_local_base_freq: 10000,
    final_logit_softcapping: null,
    attn_logit_softcapping: null,
  },
};

export type Attention = { hiddenSize: number; numHeads: number; numKvHeads: number; headDim: number };

type Extras = Partial<ModelConfig>;

/** A Llama-style decoder: the Llama block, plus what `modelType` adds to it. */
export function parseDecoder(read: ConfigReader, modelType: string, attention: Attention): ModelConfig {
  const { hiddenSize, numHeads, numKvHeads, headDim } = attention;
  const numLayers = read.positiveInteger('num_hidden_layers');
  const maxPositions = read.positiveInteger('max_position_embeddings');
  const gemma = modelType === 'gemma2' || modelType === 'gemma3_text';
  const ropeOptions = { headDim, maxPositions, ...(modelType === 'phi3' ? { typeAliases: PHI3_ROPE } : {}) };
  const extras: Extras = {
    ...slidingLayers(read, modelType, numLayers),
    ...(gemma ? gemmaExtras(read, modelType, hiddenSize) : {}),
    ...(modelType === 'qwen3' || modelType === 'qwen3_moe' ? { qkNorm: true } : {}),
    ...(modelType === 'phi3' ? { fusedProjections: true } : {}),
    ...(modelType === 'mixtral' || modelType === 'qwen3_moe'
      ? { moe: parseMoe(read, modelType, numLayers) }
      : {}),
  };
  const positional =
    modelType === 'gemma3_text' ? gemma3Rope(read, extras, ropeOptions) : ropePositional(read, ropeOptions);
  return {
    modelType,
    family: 'llama',
    hiddenSize,
    intermediateSize: read.positiveInteger('intermediate_size'),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: read.positiveInteger('vocab_size'),
    maxPositions,
    norm: { kind: 'rmsnorm', eps: read.positiveNumber('rms_norm_eps') },
    activation: read.activation(gemma ? 'hidden_activation' : 'hidden_act'),
    positional,
    biases: biases(read, modelType),
    tiedEmbeddings: read.boolean('tie_word_embeddings', false),
    doLayerNormBefore: true,
    bosTokenId: read.tokenId('bos_token_id'),
    eosTokenId: read.tokenId('eos_token_id'),
    torchDtype: read.optionalString('torch_dtype') ?? read.optionalString('dtype'),
    ...extras,
  };
}

/** Phi3Config reads the rope types of earlier Phi-3 releases as LongRoPE. */
const PHI3_ROPE = { su: 'longrope', yarn: 'longrope' };

/**
 * Llama and Mistral: attention_bias covers q, k, v and o. Qwen2: q, k, v always have biases, o never. Qwen3, Qwen3-MoE
 * and Gemma: attention_bias covers q, k, v and o, the MLP has none. Phi-3 and Mixtral: no biases at all.
 */
function biases(read: ConfigReader, modelType: string): ModelConfig['biases'] {
  if (modelType === 'phi3' || modelType === 'mixtral') return { qkv: false, o: false, mlp: false };
  const attentionBias = read.boolean('attention_bias', false);
  if (modelType === 'qwen2') return { qkv: true, o: false, mlp: read.boolean('mlp_bias', false) };
  const llama = modelType === 'llama' || modelType === 'mistral';
  return { qkv: attentionBias, o: attentionBias, mlp: llama ? read.boolean('mlp_bias', false) : false };
}

/**
 * Which layers attend through a sliding window, as each config class derives its layer_types: every layer
 * (Mistral, Mixtral, Phi-3), layers from max_window_layers on when use_sliding_window (Qwen2, Qwen3), every other
 * layer (Gemma 2) or all but every sliding_window_pattern-th (Gemma 3); an explicit layer_types wins where the
 * class reads it. No window (null) means full attention everywhere.
 */
function slidingLayers(read: ConfigReader, modelType: string, numLayers: number): Extras {
  let window: number | undefined;
  let types: LayerType[] | undefined;
  const all = (type: LayerType) => Array.from({ length: numLayers }, () => type);
  switch (modelType) {
    case 'mistral':
    case 'mixtral':
    case 'phi3':
      window = read.nullableInteger('sliding_window');
      types = all('sliding');
      break;
    case 'qwen2':
    case 'qwen3': {
      window = read.boolean('use_sliding_window', false) ? read.nullableInteger('sliding_window') : undefined;
      const first = read.raw('max_window_layers');
      if (typeof first !== 'number' || !Number.isSafeInteger(first) || first < 0)
        read.fail('max_window_layers', 'a whole number of layers ≥ 0');
      types =
        layerTypes(read, numLayers) ??
        Array.from({ length: numLayers }, (_, i) => (i >= first ? 'sliding' : 'full'));
      break;
    }
    case 'qwen3_moe':
      if (read.boolean('use_sliding_window', false)) {
        read.refuse(
          'use_sliding_window',
          'which Qwen3-MoE layers use the window differs between transformers versions',
        );
      }
      return {};
    case 'gemma2':
      window = read.nullableInteger('sliding_window');
      types =
        layerTypes(read, numLayers) ??
        Array.from({ length: numLayers }, (_, i) => (i % 2 === 0 ? 'sliding' : 'full'));
      break;
    case 'gemma3_text': {
      window = read.nullableInteger('sliding_window');
      const pattern = read.raw('sliding_window_pattern') ?? read.raw('_sliding_window_pattern') ?? 6;
      if (typeof pattern !== 'number' || !Number.isSafeInteger(pattern) || pattern < 1)
        read.fail('sliding_window_pattern', 'a whole number ≥ 1');
      types =
        layerTypes(read, numLayers) ??
        Array.from({ length: numLayers }, (_, i) => ((i + 1) % pattern !== 0 ? 'sliding' : 'full'));
      break;
    }
    default:
      return {};
  }
  if (window === undefined || !types.includes('sliding')) return {};
  return { layerTypes: types, slidingWindow: window };
}

/** An explicit layer_types list: one "sliding_attention" or "full_attention" per layer; other kinds are refused. */
function layerTypes(read: ConfigReader, numLayers: number): LayerType[] | undefined {
  const value = read.raw('layer_types');
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length !== numLayers)
    read.fail('layer_types', `a list of ${numLayers} layer types (one per num_hidden_layers)`);
  return value.map((type) => {
    if (type === 'sliding_attention') return 'sliding';
    if (type === 'full_attention') return 'full';
    return read.refuse(
      'layer_types',
      `layer type ${JSON.stringify(type)} is not modelled (only sliding_attention and full_attention are)`,
    );
  });
}

/**
 * Gemma 2/3: (1 + w) RMSNorms before and after attention and the MLP, embeddings × √hidden in the model's dtype,
 * scores scaled by query_pre_attn_scalar^-½ and soft-capped where the config says so.
 */
function gemmaExtras(read: ConfigReader, modelType: string, hiddenSize: number): Extras {
  if (read.boolean('use_bidirectional_attention', false)) {
    read.refuse(
      'use_bidirectional_attention',
      'bidirectional attention (EmbeddingGemma) is not a causal language model',
    );
  }
  const attentionSoftcap = read.nullableNumber('attn_logit_softcapping');
  const finalLogitSoftcap = read.nullableNumber('final_logit_softcapping');
  return {
    normUnitOffset: true,
    sandwichNorms: true,
    embeddingScale: inModelDtype(
      Math.sqrt(hiddenSize),
      read.optionalString('torch_dtype') ?? read.optionalString('dtype'),
    ),
    attentionScale: 1 / Math.sqrt(read.positiveNumber('query_pre_attn_scalar')),
    ...(attentionSoftcap !== undefined ? { attentionSoftcap } : {}),
    ...(finalLogitSoftcap !== undefined ? { finalLogitSoftcap } : {}),
    ...(modelType === 'gemma3_text' ? { qkNorm: true } : {}),
  };
}

/**
 * transformers multiplies Gemma's embeddings by √hidden cast to the weights' dtype (√3072 = 55.4256 becomes 55.5 in
 * bfloat16): the model as run in its torch_dtype (float32 where the config names none).
 */
export function inModelDtype(value: number, torchDtype: string | undefined): number {
  const dtype = torchDtype === 'bfloat16' ? 'BF16' : torchDtype === 'float16' ? 'F16' : undefined;
  if (!dtype) return Math.fround(value);
  const rounded = new Float32Array(1);
  decodeFloats(encodeFloats(Float32Array.of(value), dtype), dtype, rounded);
  return rounded[0];
}

/**
 * Gemma 3: full-attention layers use rope_theta with rope_scaling, sliding layers rope_local_base_freq unscaled
 * (or transformers 5's rope_parameters keyed by layer type). Returns the full layers' positions; the sliding
 * layers' go into extras.slidingPositional where they differ.
 */
function gemma3Rope(
  read: ConfigReader,
  extras: Extras,
  options: { headDim: number; maxPositions: number },
): Positional {
  const parameters = read.raw('rope_parameters');
  const perType = isObject(parameters) && perLayerType(parameters);
  const full = perType
    ? positionalFrom(read, 'rope_parameters.full_attention', parameters.full_attention ?? {}, options)
    : ropePositional(read, options);
  const localTheta = read.raw('rope_local_base_freq') ?? 10000;
  const sliding = perType
    ? positionalFrom(
        read,
        'rope_parameters.sliding_attention',
        {
          rope_theta: localTheta,
          ...(isObject(parameters.sliding_attention) ? parameters.sliding_attention : {}),
        },
        options,
      )
    : positionalFrom(read, 'rope_local_base_freq', { rope_type: 'default', rope_theta: localTheta }, options);
  if (extras.layerTypes?.includes('sliding') && JSON.stringify(sliding) !== JSON.stringify(full)) {
    extras.slidingPositional = sliding;
  }
  return full;
}

/** Mixtral's and Qwen3-MoE's routed experts; which layers keep a dense MLP (Qwen3-MoE's decoder_sparse_step). */
function parseMoe(read: ConfigReader, modelType: string, numLayers: number): MoeConfig {
  const mixtral = modelType === 'mixtral';
  const experts = read.positiveInteger(mixtral ? 'num_local_experts' : 'num_experts');
  const topK = read.positiveInteger('num_experts_per_tok');
  if (topK > experts) read.fail('num_experts_per_tok', `at most the ${experts} experts`);
  if (mixtral) {
    return {
      layout: 'mixtral',
      experts,
      topK,
      normalizeTopK: true,
      expertIntermediateSize: read.positiveInteger('intermediate_size'),
      denseLayers: [],
    };
  }
  const only = read.indexList('mlp_only_layers');
  if (only.some((layer) => layer >= numLayers))
    read.fail('mlp_only_layers', `layer indices below ${numLayers}`);
  const step = read.positiveInteger('decoder_sparse_step');
  const denseLayers = Array.from({ length: numLayers }, (_, i) => i).filter(
    (i) => only.includes(i) || (i + 1) % step !== 0,
  );
  return {
    layout: 'qwen3_moe',
    experts,
    topK,
    normalizeTopK: read.boolean('norm_topk_prob', false),
    expertIntermediateSize: read.positiveInteger('moe_intermediate_size'),
    denseLayers,
  };
}

/**
 * The typed architecture description parsed from a Hugging Face config.json (parser: src/core/model/config.ts).
 * Everything downstream (forward kernels, pipeline, UI) reads these fields, never the raw JSON.
 */

export type ModelFamily = 'llama' | 'opt' | 'gpt2';

export type Activation = 'silu' | 'gelu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'relu';

export interface RopeScaling {
  /** transformers' rope_type: linear, dynamic, llama3, yarn, longrope … ('default' when absent). */
  type: string;
  factor: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositions?: number;
  /** LongRoPE (Phi-3/4): per-frequency divisors up to originalMaxPositions positions, and past them. */
  shortFactor?: number[];
  longFactor?: number[];
  /** LongRoPE: the factor cos and sin are multiplied by (default from `factor` and originalMaxPositions). */
  attentionFactor?: number;
}

export type Positional =
  | { kind: 'rope'; theta: number; scaling?: RopeScaling; partialRotaryFactor: number }
  /** OPT adds 2 to position ids (offset 2); GPT-2 uses 0. */
  | { kind: 'learned'; offset: number };

export interface ModelConfig {
  /** config.json's model_type as written: llama, mistral, qwen2, opt, gpt2 … */
  modelType: string;
  family: ModelFamily;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  maxPositions: number;
  norm: { kind: 'rmsnorm' | 'layernorm'; eps: number };
  activation: Activation;
  positional: Positional;
  /** Which linears carry biases: attention q/k/v, attention output, MLP. */
  biases: { qkv: boolean; o: boolean; mlp: boolean };
  tiedEmbeddings: boolean;
  /** OPT only: pre-norm (true for all but opt-350m) and the optional embedding projection. */
  doLayerNormBefore: boolean;
  wordEmbedProjDim?: number;
  bosTokenId?: number;
  eosTokenId?: number;
  /** torch_dtype from config.json, informational. */
  torchDtype?: string;

  // Decoder features beyond the Llama block (Qwen3, Gemma 2/3, Phi-3, Mixtral, Qwen3-MoE, Mistral/Qwen2 windows).
  // Each is absent where the model does not have it, so a Llama-style config parses exactly as before.
  /** Per layer (transformers' layer_types): 'sliding' layers attend to the last slidingWindow keys only. */
  layerTypes?: LayerType[];
  /** Query i sees keys j with i − slidingWindow < j ≤ i on 'sliding' layers. */
  slidingWindow?: number;
  /** Rotary positions of 'sliding' layers where they differ from `positional` (Gemma 3's rope_local_base_freq). */
  slidingPositional?: Positional;
  /** RMSNorm over head_dim on every query and key head after projection, before RoPE (Qwen3, Gemma 3). */
  qkNorm?: boolean;
  /** Gemma: every RMSNorm multiplies by (1 + weight), in float32 before casting back. */
  normUnitOffset?: boolean;
  /** Gemma 2/3: RMSNorms after attention and after the MLP too (post_attention_, pre_/post_feedforward_layernorm). */
  sandwichNorms?: boolean;
  /** Gemma: embeddings × √hidden, the factor rounded to the model's dtype as transformers does. */
  embeddingScale?: number;
  /** Attention scores scale where it is not head_dim^-½ (Gemma: query_pre_attn_scalar^-½). */
  attentionScale?: number;
  /** Gemma 2: attention scores ← cap · tanh(scores / cap), before the causal mask. */
  attentionSoftcap?: number;
  /** Gemma 2: logits ← cap · tanh(logits / cap). */
  finalLogitSoftcap?: number;
  /** Phi-3: q|k|v stored as one qkv_proj and gate|up as one gate_up_proj, pruned as the fused linears they are. */
  fusedProjections?: boolean;
  /** Mixture-of-experts MLP (Mixtral, Qwen3-MoE). */
  moe?: MoeConfig;
}

export type LayerType = 'full' | 'sliding';

export interface MoeConfig {
  /** On-disk names: Mixtral's block_sparse_moe.{gate, experts.E.w1|w3|w2}, Qwen3-MoE's mlp.{gate, experts.E.*_proj}. */
  layout: 'mixtral' | 'qwen3_moe';
  experts: number;
  /** Experts per token (num_experts_per_tok). */
  topK: number;
  /** The top-k routing weights renormalised to sum to 1 (Mixtral always; Qwen3-MoE's norm_topk_prob). */
  normalizeTopK: boolean;
  /** Each expert's intermediate size (Mixtral: intermediate_size; Qwen3-MoE: moe_intermediate_size). */
  expertIntermediateSize: number;
  /** Layers with a dense MLP of intermediateSize instead of experts (Qwen3-MoE's mlp_only_layers, decoder_sparse_step). */
  denseLayers: number[];
}

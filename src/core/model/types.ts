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
}

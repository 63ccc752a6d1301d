/**
 * What a transformer block and the model's two ends consist of, as data computed from a ModelConfig: tensor names
 * as Hugging Face checkpoints spell them, linear shapes in the pruner's [rows = out, cols = in] orientation, which
 * linears read the same input (and so share one Hessian), and the norm, activation and position kinds. The GPU
 * forward, the pipeline and the UI all read this; no family-specific code elsewhere.
 */
import type { Activation, ModelConfig, ModelFamily } from '../model/types';
import { storedShape, UnsupportedModelError } from './architecture-parts';
import { llamaArchitecture } from './decoder-blocks';
import { gpt2Architecture, optArchitecture } from './learned-position-families';
import type { RopeSpec } from './rope';

export { storedShape, UnsupportedModelError };

export interface LinearSpec {
  /** Name within the block, e.g. "self_attn.q_proj", "attn.c_attn", "fc1". */
  name: string;
  /** Checkpoint tensor of the weight, e.g. "model.layers.0.self_attn.q_proj.weight". */
  tensor: string;
  bias?: string;
  /** Output features (the pruner's rows). */
  rows: number;
  /** Input features (the pruner's columns). */
  cols: number;
  /**
   * True when the checkpoint stores the weight as [in, out] (GPT-2's Conv1D): the pruner works on the transpose,
   * so the pipeline transposes on load (toOutIn) and back on store (fromOutIn).
   */
  transposed: boolean;
}

export interface NormSpec {
  weight: string;
  bias?: string;
}

/** attention: q/k/v (or fused c_attn); attention_output: o_proj; mlp: gate/up or fc1; mlp_output: down or fc2. */
export type InputGroupRole = 'attention' | 'attention_output' | 'mlp' | 'mlp_output';

/** Linears that read the same input; they run as one fused matmul and share one Hessian. */
export interface InputGroup {
  role: InputGroupRole;
  /** In features of every linear of the group. */
  features: number;
  /** In fused order (q, k, v; gate, up). */
  linears: LinearSpec[];
  /** Sum of the linears' rows: the width of the fused output. */
  rows: number;
  /**
   * Mixture of experts: the expert whose linears these are. Its input is that of the tokens the router sends to it
   * (or every token, where the run calibrates every expert on all of them), so it has a Hessian of its own.
   */
  expert?: number;
}

export interface BlockSpec {
  index: number;
  /** Before attention when norms come first (all supported models but OPT-350m), after it otherwise. */
  attentionNorm: NormSpec;
  mlpNorm: NormSpec;
  /** In execution order: attention, attention_output, mlp, mlp_output (MoE: mlp and mlp_output per expert). */
  groups: InputGroup[];
  /** The block's prunable linears, in execution order. */
  linears: LinearSpec[];

  // Decoder features beyond the Llama block (decoder-blocks.ts); absent where the model does not have them.
  /** RMSNorm over headDim on every query / key head after projection, before RoPE (Qwen3, Gemma 3). */
  qNorm?: NormSpec;
  kNorm?: NormSpec;
  /** Gemma: RMSNorm of the attention output before the residual add (its post_attention_layernorm). */
  postAttentionNorm?: NormSpec;
  /** Gemma: RMSNorm of the MLP output before the residual add (post_feedforward_layernorm). */
  postMlpNorm?: NormSpec;
  /** Sliding-window layers: query i attends to keys j with i − slidingWindow < j ≤ i. */
  slidingWindow?: number;
  /** This layer's RoPE where it differs from the model's (Gemma 3's sliding layers: rope_local_base_freq). */
  rope?: RopeSpec;
  /** Mixture of experts: the router (never pruned) and how tokens are routed. */
  moe?: MoeSpec;
}

export interface MoeSpec {
  /** Router weight [experts, hidden]: logits → softmax → top-k. */
  router: MatrixSpec;
  experts: number;
  topK: number;
  /** Renormalise the top-k routing weights to sum to 1. */
  normalizeTopK: boolean;
  /** Each expert's intermediate size. */
  intermediateSize: number;
}

export interface MatrixSpec {
  tensor: string;
  rows: number;
  cols: number;
}

export interface Architecture {
  config: ModelConfig;
  family: ModelFamily;
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  numBlocks: number;
  /** unitOffset: Gemma's RMSNorm multiplies by (1 + weight). */
  norm: { kind: 'rmsnorm' | 'layernorm'; eps: number; unitOffset?: boolean };
  /** Pre-norm (norm → sublayer → residual) or post-norm (sublayer → residual → norm; OPT-350m). */
  normFirst: boolean;
  /** gated: activation(gate) · up (SwiGLU); plain: activation(fc1). */
  mlp: { kind: 'gated' | 'plain'; activation: Activation };
  attentionScale: number;
  /** Gemma 2: attention scores ← cap · tanh(scores / cap), before the causal mask. */
  attentionSoftcap?: number;
  /** Gemma 2: logits ← cap · tanh(logits / cap). */
  finalLogitSoftcap?: number;
  /** Gemma: token embeddings × this (√hidden in the model's dtype). */
  embeddingScale?: number;
  rope?: RopeSpec;
  /** Token embeddings [vocab, embedDim]. */
  embedding: MatrixSpec;
  /** Learned positions: table row = position + offset (OPT's offset 2). */
  positions?: MatrixSpec & { offset: number };
  /** OPT with word_embed_proj_dim ≠ hidden_size: embedDim → hidden before the blocks, and back after. */
  projectIn?: LinearSpec;
  projectOut?: LinearSpec;
  finalNorm?: NormSpec;
  /** [vocab, embedDim]; the embedding tensor itself when tied. */
  lmHead: MatrixSpec & { tied: boolean };
  block(index: number): BlockSpec;
  /** Every prunable linear of every block, in execution order; the same as listPrunableLinears(this). */
  prunableLinears(): PrunableLinearSpec[];
}

/** A prunable linear with where it sits in the model. */
export interface PrunableLinearSpec extends LinearSpec {
  block: number;
  /** The input group it belongs to: its linears share one Hessian (one calibration capture). */
  group: InputGroupRole;
  /** Mixture of experts: the expert of the group (its own Hessian). */
  expert?: number;
  /** The checkpoint tensor's shape as stored: [rows, cols], or [cols, rows] when `transposed`. */
  storedShape: [number, number];
}

/** Checkpoint name prefixes each family is saved with, most common first (facebook/opt-* omit "model."). */
const PREFIXES: Record<ModelFamily, string[]> = {
  llama: ['model.', ''],
  opt: ['model.decoder.', 'decoder.'],
  gpt2: ['transformer.', ''],
};

const EMBEDDING: Record<ModelFamily, string> = {
  llama: 'embed_tokens.weight',
  opt: 'embed_tokens.weight',
  gpt2: 'wte.weight',
};

/**
 * The architecture of `config`. With the checkpoint's tensor names, the name prefix is matched against them
 * (and optional tensors such as OPT's final norm are looked up); without, the transformers defaults are assumed.
 */
export function describeArchitecture(config: ModelConfig, tensorNames?: Iterable<string>): Architecture {
  validateConfig(config);
  const names = tensorNames ? new Set(tensorNames) : undefined;
  const prefix = resolvePrefix(config.family, names);
  switch (config.family) {
    case 'llama':
      return llamaArchitecture(config, prefix, names);
    case 'opt':
      return optArchitecture(config, prefix, names);
    case 'gpt2':
      return gpt2Architecture(config, prefix, names);
    default:
      throw new UnsupportedModelError(`model family "${config.family}" is not supported`);
  }
}

function resolvePrefix(family: ModelFamily, names: Set<string> | undefined): string {
  const candidates = PREFIXES[family];
  if (!names) return candidates[0];
  const found = candidates.find((prefix) => names.has(prefix + EMBEDDING[family]));
  if (found === undefined) {
    const expected = candidates.map((p) => `"${p}${EMBEDDING[family]}"`).join(' or ');
    throw new UnsupportedModelError(
      `this ${family} checkpoint has no token embedding tensor (looked for ${expected}); ` +
        'is it a complete causal language model?',
    );
  }
  return found;
}

function validateConfig(config: ModelConfig): void {
  const sizes: Array<[string, number]> = [
    ['hidden_size', config.hiddenSize],
    ['intermediate_size', config.intermediateSize],
    ['num_hidden_layers', config.numLayers],
    ['num_attention_heads', config.numHeads],
    ['num_key_value_heads', config.numKvHeads],
    ['head_dim', config.headDim],
    ['vocab_size', config.vocabSize],
  ];
  for (const [name, value] of sizes) {
    if (!Number.isInteger(value) || value < 1) {
      throw new UnsupportedModelError(`config ${name} must be a positive integer, got ${value}`);
    }
  }
  if (config.numHeads % config.numKvHeads !== 0) {
    throw new UnsupportedModelError(
      `num_attention_heads (${config.numHeads}) must be a multiple of num_key_value_heads (${config.numKvHeads})`,
    );
  }
  if (config.family !== 'llama' && config.numHeads * config.headDim !== config.hiddenSize) {
    throw new UnsupportedModelError(
      `hidden_size ${config.hiddenSize} is not num_attention_heads ${config.numHeads} × head dim ${config.headDim}`,
    );
  }
}

/**
 * Every linear the pruner may prune, block by block in execution order, with its checkpoint tensor (and bias)
 * name, its [rows = out, cols = in] shape, the stored shape, whether it is stored transposed (GPT-2 Conv1D: load
 * with toOutIn, store with fromOutIn) and its input group. Embeddings, OPT's project_in/out and the LM head are
 * never listed. Linears of the same block and group share one calibration input (one Hessian).
 */
export function listPrunableLinears(arch: Architecture): PrunableLinearSpec[] {
  return arch.prunableLinears();
}

/** The checkpoint tensor of a linear in the pruner's [rows = out, cols = in] orientation (a copy if transposed). */
export function toOutIn(spec: LinearSpec, stored: Float32Array): Float32Array {
  checkLength(spec, stored.length);
  return spec.transposed ? transpose(stored, spec.cols, spec.rows) : stored;
}

/** The inverse of toOutIn: a [rows, cols] weight back in the checkpoint's layout. */
export function fromOutIn(spec: LinearSpec, W: Float32Array): Float32Array {
  checkLength(spec, W.length);
  return spec.transposed ? transpose(W, spec.rows, spec.cols) : W;
}

function checkLength(spec: LinearSpec, length: number): void {
  if (length !== spec.rows * spec.cols) {
    const [r, c] = storedShape(spec);
    throw new RangeError(`${spec.tensor}: expected ${r}×${c} = ${r * c} values, got ${length}`);
  }
}

/** [rows, cols] row-major → [cols, rows] row-major. */
export function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return out;
}

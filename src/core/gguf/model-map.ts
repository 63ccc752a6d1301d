/**
 * Hugging Face tensors ↔ llama.cpp's GGUF tensors for the families llama.cpp runs (names and transforms as
 * llama.cpp's convert_hf_to_gguf.py and gguf-py's constants.py give them): Llama, Mistral and SmolLM as "llama"
 * (q_proj/k_proj rows permuted per head, because llama.cpp rotates interleaved pairs where transformers rotates
 * halves), Qwen2 as "qwen2", GPT-2 as "gpt2" (Conv1D weights transposed to [out, in]). OPT has no llama.cpp
 * architecture. Qwen3 is "qwen3": Qwen2's names, no biases, plus attn_q_norm / attn_k_norm (per-head RMSNorm weights,
 * head_dim long). Gemma 2 / 3 are "gemma2" / "gemma3": every RMSNorm weight stored as 1 + w, and the norms around
 * both sublayers as post_attention_norm, ffn_norm (pre-feed-forward) and post_ffw_norm. The same map turns a GGUF
 * back into HF tensors for this tool's own forward. Mixtral ("llama") and Qwen3-MoE ("qwen3moe") keep the router as
 * ffn_gate_inp and stack each layer's experts into 3-D ffn_{gate,up,down}_exps tensors. Phi-3 is "phi3": its fused
 * qkv_proj and gate_up_proj as attn_qkv and ffn_up, in the same row order.
 */
import type { Architecture, BlockSpec, LinearSpec, NormSpec } from '../forward/architecture';
import type { ModelConfig } from '../model/types';
import { GgufExportError } from './gguf-error';
import { checkExperts, checkGemma2, checkGemma3 } from './llama-cpp-limits';

export { GgufExportError };

export type TensorTransform =
  | { kind: 'copy' }
  /** GPT-2's Conv1D: stored [in, out], GGUF wants [out, in]. */
  | { kind: 'transpose' }
  /** Rows of each of `heads` heads reordered from halves to interleaved pairs. */
  | { kind: 'permute'; heads: number }
  /** Gemma's RMSNorm weights: llama.cpp multiplies by w, transformers by (1 + w), so the file holds 1 + w. */
  | { kind: 'unitOffset' };

export interface TensorMapping {
  gguf: string;
  /** The HF checkpoint tensor it comes from. */
  hf: string;
  /** PyTorch-order shape of the GGUF tensor: [rows, cols], [n], or [experts, rows, cols] for a stack. */
  shape: number[];
  transform: TensorTransform;
  /**
   * Mixture of experts: the HF tensors of experts 0 … E−1 ([rows, cols] each), stacked in that order into one
   * ffn_{gate,up,down}_exps tensor as llama.cpp's converter stacks them; `hf` is expert 0's.
   */
  stack?: string[];
}

/** The HF tensors a GGUF tensor is made of: the experts of a stack, else its one source. */
export function sourceTensors(mapping: TensorMapping): string[] {
  return mapping.stack ?? [mapping.hf];
}

export const GGUF_ARCHITECTURES = {
  llama: 'llama',
  mistral: 'llama',
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  gpt2: 'gpt2',
  gemma2: 'gemma2',
  gemma3_text: 'gemma3',
  mixtral: 'llama',
  qwen3_moe: 'qwen3moe',
  phi3: 'phi3',
} as const;

/** The MLP activation each llama.cpp architecture runs (gelu = the tanh approximation, as GGML's GELU is). */
const ACTIVATIONS: Record<GgufArchitecture, { names: string[]; says: string }> = {
  llama: { names: ['silu'], says: 'runs SiLU MLPs' },
  qwen2: { names: ['silu'], says: 'runs SiLU MLPs' },
  qwen3: { names: ['silu'], says: 'runs SiLU MLPs' },
  qwen3moe: { names: ['silu'], says: 'runs SiLU MLPs' },
  phi3: { names: ['silu'], says: 'runs SiLU MLPs' },
  gpt2: { names: ['gelu_new', 'gelu_pytorch_tanh'], says: 'uses the tanh approximation of GELU' },
  gemma2: { names: ['gelu_pytorch_tanh', 'gelu_new'], says: 'uses the tanh approximation of GELU' },
  gemma3: { names: ['gelu_pytorch_tanh', 'gelu_new'], says: 'uses the tanh approximation of GELU' },
};

export type GgufArchitecture = (typeof GGUF_ARCHITECTURES)[keyof typeof GGUF_ARCHITECTURES];

/** llama.cpp's architecture name for a model_type, or a message saying why there is none. */
export function ggufArchitecture(config: ModelConfig): GgufArchitecture {
  if (config.family === 'opt') {
    throw new GgufExportError(
      'llama.cpp has no OPT architecture, so an OPT model cannot be written as GGUF. GGUF export supports ' +
        'Llama-style models (Llama, Mistral, SmolLM, TinyLlama), Qwen2, Qwen3, Gemma 2, Gemma 3, Phi-3, Mixtral, ' +
        'Qwen3-MoE and GPT-2; use the ' +
        'safetensors output for OPT.',
    );
  }
  const arch = (GGUF_ARCHITECTURES as Record<string, GgufArchitecture>)[config.modelType];
  if (!arch) {
    throw new GgufExportError(
      `model_type "${config.modelType}" has no llama.cpp architecture this tool writes`,
    );
  }
  const activation = ACTIVATIONS[arch];
  if (!activation.names.includes(config.activation)) {
    throw new GgufExportError(`llama.cpp's ${arch} ${activation.says}; this model uses ${config.activation}`);
  }
  if (arch === 'gemma2') checkGemma2(config);
  if (arch === 'gemma3') checkGemma3(config);
  if (config.moe) checkExperts(config, arch);
  if (config.positional.kind === 'rope') {
    // phi3 rotates the first rope.dimension_count dimensions of each head (NEOX halves), as transformers does.
    if (config.positional.partialRotaryFactor !== 1 && arch !== 'phi3') {
      throw new GgufExportError(
        'llama.cpp rotates whole heads in this architecture; partial_rotary_factor < 1 is not written',
      );
    }
    const scaling = config.positional.scaling?.type ?? 'default';
    const written = arch === 'phi3' ? ['default', 'longrope'] : ['default', 'linear', 'llama3'];
    if (!written.includes(scaling)) {
      throw new GgufExportError(
        `RoPE scaling "${scaling}" is not written to GGUF by this tool for llama.cpp's ${arch} (${written.join(' and ')} are)`,
      );
    }
  }
  return arch;
}

const LLAMA_LINEARS: Record<string, string> = {
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
  // Phi-3's fused linears: llama.cpp's phi3 splits attn_qkv's rows as q | k | v and ffn_up's as gate | up.
  'self_attn.qkv_proj': 'attn_qkv',
  'mlp.gate_up_proj': 'ffn_up',
};

const GPT2_LINEARS: Record<string, string> = {
  'attn.c_attn': 'attn_qkv',
  'attn.c_proj': 'attn_output',
  'mlp.c_fc': 'ffn_up',
  'mlp.c_proj': 'ffn_down',
};

/** Every GGUF tensor of the model in writing order (embeddings, each block, final norm, head) with its source. */
export function mapTensors(arch: Architecture): TensorMapping[] {
  const family = ggufArchitecture(arch.config);
  const out: TensorMapping[] = [];
  const add = (gguf: string, hf: string, shape: number[], transform: TensorTransform = { kind: 'copy' }) =>
    out.push({ gguf, hf, shape, transform });
  const normTransform: TensorTransform = arch.norm.unitOffset ? { kind: 'unitOffset' } : { kind: 'copy' };
  const addNorm = (gguf: string, norm: NormSpec, size = arch.hiddenSize) => {
    add(`${gguf}.weight`, norm.weight, [size], normTransform);
    if (norm.bias) add(`${gguf}.bias`, norm.bias, [size]);
  };
  add('token_embd.weight', arch.embedding.tensor, [arch.embedding.rows, arch.embedding.cols]);
  if (arch.positions)
    add('position_embd.weight', arch.positions.tensor, [arch.positions.rows, arch.positions.cols]);
  const names = family === 'gpt2' ? GPT2_LINEARS : LLAMA_LINEARS;
  for (let index = 0; index < arch.numBlocks; index++) {
    const block = arch.block(index);
    const prefix = `blk.${index}`;
    const addLinear = (linear: LinearSpec) => {
      const name = `${prefix}.${names[linear.name]}`;
      let transform: TensorTransform = linear.transposed ? { kind: 'transpose' } : { kind: 'copy' };
      if (family === 'llama' && linear.name === 'self_attn.q_proj')
        transform = { kind: 'permute', heads: arch.heads };
      if (family === 'llama' && linear.name === 'self_attn.k_proj')
        transform = { kind: 'permute', heads: arch.kvHeads };
      add(`${name}.weight`, linear.tensor, [linear.rows, linear.cols], transform);
      const biasTransform = transform.kind === 'permute' ? transform : { kind: 'copy' as const };
      if (linear.bias) add(`${name}.bias`, linear.bias, [linear.rows], biasTransform);
    };
    addNorm(`${prefix}.attn_norm`, block.attentionNorm);
    for (const group of block.groups.slice(0, 2)) group.linears.forEach(addLinear);
    if (block.qNorm) addNorm(`${prefix}.attn_q_norm`, block.qNorm, arch.headDim);
    if (block.kNorm) addNorm(`${prefix}.attn_k_norm`, block.kNorm, arch.headDim);
    if (block.postAttentionNorm) addNorm(`${prefix}.post_attention_norm`, block.postAttentionNorm);
    addNorm(`${prefix}.ffn_norm`, block.mlpNorm);
    if (block.moe) out.push(...expertTensors(prefix, block));
    else for (const group of block.groups.slice(2)) group.linears.forEach(addLinear);
    if (block.postMlpNorm) addNorm(`${prefix}.post_ffw_norm`, block.postMlpNorm);
  }
  if (arch.finalNorm) addNorm('output_norm', arch.finalNorm);
  if (!arch.lmHead.tied) add('output.weight', arch.lmHead.tensor, [arch.lmHead.rows, arch.lmHead.cols]);
  return out;
}

/** The router (kept as it is) and the experts' gate, up and down linears stacked, expert by expert. */
function expertTensors(prefix: string, block: BlockSpec): TensorMapping[] {
  const moe = block.moe as NonNullable<BlockSpec['moe']>;
  const copy = { kind: 'copy' } as const;
  const router = moe.router;
  const out: TensorMapping[] = [
    {
      gguf: `${prefix}.ffn_gate_inp.weight`,
      hf: router.tensor,
      shape: [router.rows, router.cols],
      transform: copy,
    },
  ];
  const inputs = block.groups.filter((g) => g.role === 'mlp' && g.expert !== undefined);
  const outputs = block.groups.filter((g) => g.role === 'mlp_output' && g.expert !== undefined);
  const stacks: Array<[string, LinearSpec[]]> = [
    ['ffn_gate_exps', inputs.map((g) => g.linears[0])],
    ['ffn_up_exps', inputs.map((g) => g.linears[1])],
    ['ffn_down_exps', outputs.map((g) => g.linears[0])],
  ];
  for (const [name, linears] of stacks) {
    const stack = linears.map((l) => l.tensor);
    const [rows, cols] = [linears[0].rows, linears[0].cols];
    out.push({
      gguf: `${prefix}.${name}.weight`,
      hf: stack[0],
      shape: [stack.length, rows, cols],
      transform: copy,
      stack,
    });
  }
  return out;
}

/** Source row of each destination row under `permute` (halves → interleaved pairs within each head). */
export function permutedRow(row: number, rows: number, heads: number): number {
  const headRows = rows / heads;
  const half = headRows / 2;
  const head = Math.floor(row / headRows);
  const within = row % headRows;
  return head * headRows + (within % 2) * half + Math.floor(within / 2);
}

/** Applies `transform` to HF rows [rowStart, rowStart + rows) read as `source` (whole heads when permuting). */
export function toGgufRows(
  source: Float32Array,
  shape: number[],
  transform: TensorTransform,
  rowStart = 0,
): Float32Array {
  const columns = shape.length > 1 ? shape[1] : 1;
  if (transform.kind === 'copy') return source;
  // In float32, as transformers computes 1 + w (llama.cpp's converter adds 1 in the stored dtype when it is F16).
  if (transform.kind === 'unitOffset') return source.map((w) => 1 + w);
  if (transform.kind === 'transpose') {
    // source is the whole stored [in = columns, out = rows] tensor.
    const [rows, cols] = shape;
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < cols; i++) for (let o = 0; o < rows; o++) out[o * cols + i] = source[i * rows + o];
    return out;
  }
  const total = shape[0];
  const out = new Float32Array(source.length);
  const rows = source.length / columns;
  for (let r = 0; r < rows; r++) {
    const from = permutedRow(rowStart + r, total, transform.heads) - rowStart;
    out.set(source.subarray(from * columns, (from + 1) * columns), r * columns);
  }
  return out;
}

/** The inverse of toGgufRows for a whole tensor: GGUF values back in the HF checkpoint's layout. */
export function fromGgufTensor(
  values: Float32Array,
  shape: number[],
  transform: TensorTransform,
): Float32Array {
  if (transform.kind === 'copy') return values;
  // Exact: 1 + w lies in [0.5, 2] for any weight a norm holds, where subtracting 1 does not round.
  if (transform.kind === 'unitOffset') return values.map((w) => w - 1);
  const columns = shape.length > 1 ? shape[1] : 1;
  const out = new Float32Array(values.length);
  if (transform.kind === 'transpose') {
    const [rows, cols] = shape;
    for (let o = 0; o < rows; o++) for (let i = 0; i < cols; i++) out[i * rows + o] = values[o * cols + i];
    return out;
  }
  const total = shape[0];
  for (let r = 0; r < total; r++) {
    const from = permutedRow(r, total, transform.heads);
    out.set(values.subarray(r * columns, (r + 1) * columns), from * columns);
  }
  return out;
}

/**
 * Which ggml type each tensor gets, as llama.cpp's quantizer (src/llama-quant.cpp) chooses it when it quantizes a
 * float32 GGUF to a file type without an importance matrix: 1-D tensors, norms and position embeddings stay F32;
 * the LM head (and tied token embeddings) get Q6_K, or Q8_0 when their rows do not fill 256-blocks; Q4_K_M gives
 * Q6_K to attn_v/attn_qkv and ffn_down of the first and last eighth of the layers and every third between; a
 * tensor whose rows do not fill the chosen type's blocks falls back (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then
 * F16), with a warning. Expert routers (ffn_gate_inp) stay F32; with 8 experts attn_k / attn_v get Q8_0 and Q4_K_M's
 * attn_output Q5_K, and ffn_down's layer is read from the tensor's name. llama.cpp counts "layers" in the order of its sorted tensor names (blk.10 before blk.2), so
 * the recipe does too: the same file gets the same types as llama-quantize gives it.
 */
import { GGML_TYPES, type GgmlType } from '../quant/ggml-types';

export const FILE_TYPES = ['f32', 'f16', 'q8_0', 'q4_0', 'q4_k_m'] as const;
export type GgufFileType = (typeof FILE_TYPES)[number];

/** llama.cpp's llama_ftype numbers (general.file_type) and each file type's default tensor type. */
export const FILE_TYPE_INFO: Record<GgufFileType, { id: number; base: GgmlType; label: string }> = {
  f32: { id: 0, base: 'F32', label: 'F32' },
  f16: { id: 1, base: 'F16', label: 'F16' },
  q8_0: { id: 7, base: 'Q8_0', label: 'Q8_0' },
  q4_0: { id: 2, base: 'Q4_0', label: 'Q4_0' },
  q4_k_m: { id: 15, base: 'Q4_K', label: 'Q4_K_M' },
};

export interface RecipeTensor {
  /** GGUF tensor name ("blk.3.attn_v.weight"). */
  name: string;
  /** ggml order, innermost (row length) first. */
  dims: number[];
}

export interface RecipeContext {
  layers: number;
  /** No separate output.weight: token_embd.weight is also the LM head. */
  tiedEmbeddings: boolean;
  /** llama.cpp's LLM_TYPE_70B (80-layer Llama with grouped-query attention, 80-layer Qwen2). */
  is70B: boolean;
  /** Routed experts per layer (0 for a dense model). */
  experts?: number;
}

export interface RecipeResult {
  types: GgmlType[];
  /** One line per tensor whose rows forced a fallback. */
  fallbacks: string[];
}

const FALLBACK: Partial<Record<GgmlType, GgmlType>> = { Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0' };

function isQuantizable(tensor: RecipeTensor): boolean {
  return (
    tensor.dims.length >= 2 &&
    tensor.name.endsWith('weight') &&
    !tensor.name.includes('_norm.weight') &&
    !tensor.name.endsWith('ffn_gate_inp.weight') &&
    tensor.name !== 'position_embd.weight' &&
    tensor.name !== 'token_types.weight'
  );
}

/** i_layer of n gets more bits (llama.cpp's use_more_bits). */
function moreBits(layer: number, layers: number): boolean {
  const eighth = Math.floor(layers / 8);
  return layer < eighth || layer >= Math.floor((7 * layers) / 8) || (layer - eighth) % 3 === 2;
}

const blocks = (type: GgmlType) => GGML_TYPES[type].blockSize;

export function chooseTensorTypes(
  fileType: GgufFileType,
  tensors: RecipeTensor[],
  context: RecipeContext,
): RecipeResult {
  const base = FILE_TYPE_INFO[fileType].base;
  const attentionV = tensors.filter((t) => /attn_(v|qkv)\.weight$/.test(t.name)).length;
  let attentionVSeen = 0;
  let ffnDownSeen = 0;
  const fallbacks: string[] = [];
  // Mixtral's 8 experts: llama.cpp spends more bits on attention (attn_k, attn_v Q8_0; attn_output Q5_K in Q4_K_M).
  const eightExperts = context.experts === 8;
  const chosen = (tensor: RecipeTensor): GgmlType => {
    if (!isQuantizable(tensor)) return 'F32';
    if (blocks(base) === 1) return base;
    let type: GgmlType = base;
    const columns = tensor.dims[0];
    const head =
      tensor.name === 'output.weight' || (context.tiedEmbeddings && tensor.name === 'token_embd.weight');
    if (head) {
      if (columns % blocks(type) !== 0) type = 'Q8_0';
      else if (type !== 'Q8_0') type = 'Q6_K';
    } else if (/attn_(v|qkv)\.weight$/.test(tensor.name)) {
      if (fileType === 'q4_k_m' && moreBits(attentionVSeen, attentionV)) type = 'Q6_K';
      if (context.is70B && type === 'Q4_K') type = 'Q5_K';
      if (eightExperts) type = 'Q8_0';
      attentionVSeen++;
    } else if (tensor.name.endsWith('attn_k.weight')) {
      if (eightExperts) type = 'Q8_0';
    } else if (tensor.name.includes('ffn_down')) {
      // With experts, llama.cpp takes the layer from the name ("blk.N."), not from the count so far.
      const layer = (context.experts ?? 0) > 1 ? Number(/^blk\.(\d+)\./.exec(tensor.name)?.[1]) : ffnDownSeen;
      if (fileType === 'q4_k_m' && moreBits(layer, context.layers)) type = 'Q6_K';
      ffnDownSeen++;
    } else if (tensor.name.endsWith('attn_output.weight')) {
      if (eightExperts && fileType === 'q4_k_m') type = 'Q5_K';
    }
    if (columns % blocks(type) === 0) return type;
    const wanted = type;
    type = FALLBACK[type] ?? type;
    if (columns % blocks(type) !== 0) type = 'F16';
    fallbacks.push(
      `${tensor.name}: rows of ${columns} do not fill ${wanted} blocks of ${blocks(wanted)}; stored as ${type}`,
    );
    return type;
  };
  const types: GgmlType[] = new Array(tensors.length);
  const sorted = tensors.map((_, i) => i).sort((a, b) => (tensors[a].name < tensors[b].name ? -1 : 1));
  for (const i of sorted) types[i] = chosen(tensors[i]);
  return { types, fallbacks };
}

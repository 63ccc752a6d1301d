/**
 * Float64 attention sublayer of the Llama-style decoders, from the normalised block input to the o_proj input,
 * written from huggingface/transformers @ 00d4b3d2 (4.57 development): LlamaAttention (modeling_llama.py),
 * MistralAttention and Qwen2Attention (sliding_window on the layers that have it), Qwen3Attention and
 * Qwen3MoeAttention (q_norm / k_norm, RMSNorms over head_dim, before RoPE), Phi3Attention (one qkv_proj sliced
 * q | k | v; partial rotary: RoPE on the first rotary dims of each head only), Gemma2Attention (scaling
 * query_pre_attn_scalar^-½, scores soft-capped before the mask), and Gemma3Attention (modeling_gemma3.py
 * @ 0018aa64: q_norm / k_norm by (1 + w), a RoPE per layer type). Sliding windows follow masking_utils'
 * sliding_window_overlay: query i sees keys j with i − window < j ≤ i.
 */
import { ropeTable } from '../rope';
import {
  columns,
  referenceAttention,
  referenceLinear,
  referenceRmsNorm,
  referenceRotary,
} from './operations';
import type { BlockContext } from './types';

/** Layer `index`'s attention output [tokens, heads·headDim] for the normalised input `x`; `layer` = "model.layers.3". */
export function referenceSelfAttention(ctx: BlockContext, layer: string, index: number, x: Float64Array) {
  const { config: c, shape } = ctx;
  const H = c.hiddenSize;
  const tokens = x.length / H;
  const qWidth = c.numHeads * c.headDim;
  const kvWidth = c.numKvHeads * c.headDim;
  const p = `${layer}.self_attn.`;
  let q: Float64Array;
  let k: Float64Array;
  let v: Float64Array;
  if (c.fusedProjections) {
    const qkv = referenceLinear(x, tokens, ctx.t(`${p}qkv_proj.weight`), qWidth + 2 * kvWidth, H);
    q = columns(qkv, tokens, qWidth + 2 * kvWidth, 0, qWidth);
    k = columns(qkv, tokens, qWidth + 2 * kvWidth, qWidth, kvWidth);
    v = columns(qkv, tokens, qWidth + 2 * kvWidth, qWidth + kvWidth, kvWidth);
  } else {
    const project = (name: string, width: number) =>
      referenceLinear(
        x,
        tokens,
        ctx.t(`${p}${name}.weight`),
        width,
        H,
        c.biases.qkv ? ctx.t(`${p}${name}.bias`) : undefined,
      );
    q = project('q_proj', qWidth);
    k = project('k_proj', kvWidth);
    v = project('v_proj', kvWidth);
  }
  if (c.qkNorm) {
    // Each head's row of head_dim values is its own RMSNorm row.
    const unit = c.normUnitOffset === true;
    q = referenceRmsNorm(q, tokens * c.numHeads, c.headDim, ctx.t(`${p}q_norm.weight`), c.norm.eps, unit);
    k = referenceRmsNorm(k, tokens * c.numKvHeads, c.headDim, ctx.t(`${p}k_norm.weight`), c.norm.eps, unit);
  }
  const sliding = c.layerTypes?.[index] === 'sliding';
  const positional = sliding && c.slidingPositional ? c.slidingPositional : c.positional;
  if (positional.kind !== 'rope') throw new Error(`${c.modelType} needs rotary positions`);
  const rotaryDim = Math.floor(c.headDim * positional.partialRotaryFactor);
  const rope = {
    theta: positional.theta,
    rotaryDim,
    scaling: positional.scaling,
    maxPositions: c.maxPositions,
  };
  const table = ropeTable(rope, shape.seqLen, shape.positionOffset ?? 0);
  referenceRotary(q, tokens, qWidth, 0, c.numHeads, c.headDim, rotaryDim, table, shape.seqLen);
  referenceRotary(k, tokens, kvWidth, 0, c.numKvHeads, c.headDim, rotaryDim, table, shape.seqLen);
  const scale = c.attentionScale ?? 1 / Math.sqrt(c.headDim);
  return referenceAttention(
    q,
    k,
    v,
    shape.sequences,
    shape.seqLen,
    c.numHeads,
    c.numKvHeads,
    c.headDim,
    scale,
    {
      ...(sliding && c.slidingWindow !== undefined ? { window: c.slidingWindow } : {}),
      ...(c.attentionSoftcap !== undefined ? { softcap: c.attentionSoftcap } : {}),
    },
  );
}

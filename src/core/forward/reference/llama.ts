/**
 * Float64 Llama-style decoder layer, written from huggingface/transformers @ 00d4b3d2 (4.57 development):
 * LlamaDecoderLayer (modeling_llama.py) and the models that keep its shape — Mistral, Qwen2, Qwen3
 * (modeling_qwen3.py), Phi-3 (modeling_phi3.py: one gate_up_proj whose output is chunked gate | up), Mixtral and
 * Qwen3-MoE (the MLP is a sparse MoE block, moe.ts):
 *   h = x + o_proj(attention(input_layernorm(x)));  out = h + mlp(post_attention_layernorm(h)).
 */

import { referenceSparseMoe } from './moe';
import { add, columns, referenceActivation, referenceLinear, referenceRmsNorm } from './operations';
import { referenceSelfAttention } from './self-attention';
import type { BlockContext } from './types';

export function referenceLlamaBlock(ctx: BlockContext, prefix: string, index: number, x: Float64Array) {
  const c = ctx.config;
  const layer = `${prefix}layers.${index}`;
  const norm = layerRmsNorm(ctx, layer);
  const n1 = norm(x, 'input_layernorm');
  ctx.capture?.('attention', n1, x.length / c.hiddenSize);
  const h = add(x, referenceAttentionOutput(ctx, layer, index, n1));
  const n2 = norm(h, 'post_attention_layernorm');
  const experts = c.moe && !c.moe.denseLayers.includes(index);
  return add(h, experts ? referenceSparseMoe(ctx, layer, n2) : referenceGatedMlp(ctx, layer, n2));
}

/** The layer's RMSNorm named `name` (input_layernorm …) over hidden-size rows, by (1 + w) where the model says so. */
export function layerRmsNorm(ctx: BlockContext, layer: string) {
  const c = ctx.config;
  return (input: Float64Array, name: string) =>
    referenceRmsNorm(
      input,
      input.length / c.hiddenSize,
      c.hiddenSize,
      ctx.t(`${layer}.${name}.weight`),
      c.norm.eps,
      c.normUnitOffset === true,
    );
}

/** attention → capture → o_proj: the attention sublayer's output before any norm or residual. */
export function referenceAttentionOutput(
  ctx: BlockContext,
  layer: string,
  index: number,
  normed: Float64Array,
) {
  const c = ctx.config;
  const H = c.hiddenSize;
  const tokens = normed.length / H;
  const a = referenceSelfAttention(ctx, layer, index, normed);
  ctx.capture?.('attention_output', a, tokens);
  const bias = c.biases.o ? ctx.t(`${layer}.self_attn.o_proj.bias`) : undefined;
  return referenceLinear(
    a,
    tokens,
    ctx.t(`${layer}.self_attn.o_proj.weight`),
    H,
    c.numHeads * c.headDim,
    bias,
  );
}

/** down(act(gate(x)) · up(x)), with Phi-3's fused gate_up_proj; captures the mlp and mlp_output inputs. */
export function referenceGatedMlp(ctx: BlockContext, layer: string, x: Float64Array) {
  const c = ctx.config;
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const tokens = x.length / H;
  const p = `${layer}.mlp.`;
  ctx.capture?.('mlp', x, tokens);
  const bias = (name: string) => (c.biases.mlp ? ctx.t(`${p}${name}.bias`) : undefined);
  let gate: Float64Array;
  let up: Float64Array;
  if (c.fusedProjections) {
    const gateUp = referenceLinear(x, tokens, ctx.t(`${p}gate_up_proj.weight`), 2 * I, H);
    gate = columns(gateUp, tokens, 2 * I, 0, I);
    up = columns(gateUp, tokens, 2 * I, I, I);
  } else {
    gate = referenceLinear(x, tokens, ctx.t(`${p}gate_proj.weight`), I, H, bias('gate_proj'));
    up = referenceLinear(x, tokens, ctx.t(`${p}up_proj.weight`), I, H, bias('up_proj'));
  }
  const activated = gate.map((g, i) => referenceActivation(c.activation, g) * up[i]);
  ctx.capture?.('mlp_output', activated, tokens);
  return referenceLinear(activated, tokens, ctx.t(`${p}down_proj.weight`), H, I, bias('down_proj'));
}

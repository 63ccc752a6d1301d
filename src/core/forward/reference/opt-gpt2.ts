/**
 * Float64 OPT and GPT-2 blocks, written from transformers' modeling_opt.py (OPTDecoderLayer) and modeling_gpt2.py
 * (GPT2Block), eval mode.
 */
import {
  add,
  columns,
  referenceActivation,
  referenceAttention,
  referenceConv1D,
  referenceLayerNorm,
  referenceLinear,
} from './operations';
import type { BlockContext } from './types';

// OPTDecoderLayer with do_layer_norm_before either way; q is scaled by head_dim^-0.5 after its bias.
export function referenceOptBlock(ctx: BlockContext, prefix: string, index: number, x: Float64Array) {
  const { config: c, shape, capture } = ctx;
  const p = `${prefix}layers.${index}.`;
  const H = c.hiddenSize;
  const tokens = x.length / H;
  const t = (name: string) => ctx.t(`${p}${name}`);
  const layerNorm = (input: Float64Array, name: string) =>
    referenceLayerNorm(input, tokens, H, t(`${name}.weight`), t(`${name}.bias`), c.norm.eps);
  const before = c.doLayerNormBefore;

  const attentionIn = before ? layerNorm(x, 'self_attn_layer_norm') : x;
  capture?.('attention', attentionIn, tokens);
  const scale = 1 / Math.sqrt(c.headDim);
  const q = referenceLinear(
    attentionIn,
    tokens,
    t('self_attn.q_proj.weight'),
    H,
    H,
    t('self_attn.q_proj.bias'),
  ).map((value) => value * scale);
  const k = referenceLinear(
    attentionIn,
    tokens,
    t('self_attn.k_proj.weight'),
    H,
    H,
    t('self_attn.k_proj.bias'),
  );
  const v = referenceLinear(
    attentionIn,
    tokens,
    t('self_attn.v_proj.weight'),
    H,
    H,
    t('self_attn.v_proj.bias'),
  );
  const a = referenceAttention(q, k, v, shape.sequences, shape.seqLen, c.numHeads, c.numHeads, c.headDim, 1);
  capture?.('attention_output', a, tokens);
  let h = add(
    x,
    referenceLinear(a, tokens, t('self_attn.out_proj.weight'), H, H, t('self_attn.out_proj.bias')),
  );
  if (!before) h = layerNorm(h, 'self_attn_layer_norm');

  const mlpIn = before ? layerNorm(h, 'final_layer_norm') : h;
  capture?.('mlp', mlpIn, tokens);
  const F = c.intermediateSize;
  const f = referenceLinear(mlpIn, tokens, t('fc1.weight'), F, H, t('fc1.bias')).map((value) =>
    referenceActivation(c.activation, value),
  );
  capture?.('mlp_output', f, tokens);
  const out = add(h, referenceLinear(f, tokens, t('fc2.weight'), H, F, t('fc2.bias')));
  return before ? out : layerNorm(out, 'final_layer_norm');
}

// GPT2Block: h = x + c_proj(attn(split(c_attn(ln_1(x))))); out = h + mlp.c_proj(gelu_new(c_fc(ln_2(h)))).
export function referenceGpt2Block(ctx: BlockContext, prefix: string, index: number, x: Float64Array) {
  const { config: c, shape, capture } = ctx;
  const p = `${prefix}h.${index}.`;
  const H = c.hiddenSize;
  const tokens = x.length / H;
  const t = (name: string) => ctx.t(`${p}${name}`);
  const n1 = referenceLayerNorm(x, tokens, H, t('ln_1.weight'), t('ln_1.bias'), c.norm.eps);
  capture?.('attention', n1, tokens);
  const qkv = referenceConv1D(n1, tokens, t('attn.c_attn.weight'), H, 3 * H, t('attn.c_attn.bias'));
  const q = columns(qkv, tokens, 3 * H, 0, H);
  const k = columns(qkv, tokens, 3 * H, H, H);
  const v = columns(qkv, tokens, 3 * H, 2 * H, H);
  const scale = 1 / Math.sqrt(c.headDim);
  const a = referenceAttention(
    q,
    k,
    v,
    shape.sequences,
    shape.seqLen,
    c.numHeads,
    c.numHeads,
    c.headDim,
    scale,
  );
  capture?.('attention_output', a, tokens);
  const h = add(x, referenceConv1D(a, tokens, t('attn.c_proj.weight'), H, H, t('attn.c_proj.bias')));
  const n2 = referenceLayerNorm(h, tokens, H, t('ln_2.weight'), t('ln_2.bias'), c.norm.eps);
  capture?.('mlp', n2, tokens);
  const F = c.intermediateSize;
  const f = referenceConv1D(n2, tokens, t('mlp.c_fc.weight'), H, F, t('mlp.c_fc.bias')).map((value) =>
    referenceActivation(c.activation, value),
  );
  capture?.('mlp_output', f, tokens);
  return add(h, referenceConv1D(f, tokens, t('mlp.c_proj.weight'), F, H, t('mlp.c_proj.bias')));
}

/**
 * Float64 Gemma 2 / Gemma 3 decoder layer, written from huggingface/transformers' Gemma2DecoderLayer
 * (modeling_gemma2.py @ 00d4b3d2) and Gemma3DecoderLayer (modeling_gemma3.py @ 0018aa64). Every RMSNorm multiplies
 * by (1 + w) (Gemma2RMSNorm / Gemma3RMSNorm), and both sublayers are normalised before and after:
 *   h = x + post_attention_layernorm(o_proj(attention(input_layernorm(x))));
 *   out = h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h))),
 * the MLP GeGLU with hidden_activation (gelu_pytorch_tanh). Attention (self-attention.ts) brings Gemma 3's q/k norms,
 * query_pre_attn_scalar, Gemma 2's soft-capping, the sliding layers' windows and Gemma 3's local RoPE.
 */
import { layerRmsNorm, referenceAttentionOutput, referenceGatedMlp } from './llama';
import { add } from './operations';
import type { BlockContext } from './types';

export function referenceGemmaBlock(ctx: BlockContext, prefix: string, index: number, x: Float64Array) {
  const layer = `${prefix}layers.${index}`;
  const norm = layerRmsNorm(ctx, layer);
  const n1 = norm(x, 'input_layernorm');
  ctx.capture?.('attention', n1, x.length / ctx.config.hiddenSize);
  const h = add(x, norm(referenceAttentionOutput(ctx, layer, index, n1), 'post_attention_layernorm'));
  const n2 = norm(h, 'pre_feedforward_layernorm');
  return add(h, norm(referenceGatedMlp(ctx, layer, n2), 'post_feedforward_layernorm'));
}

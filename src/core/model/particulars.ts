/**
 * What sets a model apart from the plain Llama block, in words for the model card and `inspect`: sliding windows,
 * experts, soft-capping, Gemma's norms, q/k norms, fused projections, LongRoPE. [] for a plain model.
 */
import type { ModelConfig } from './types';

export function modelParticulars(config: ModelConfig): string[] {
  const out: string[] = [];
  const types = config.layerTypes;
  if (types && config.slidingWindow !== undefined) {
    const sliding = types.filter((type) => type === 'sliding').length;
    const layers = sliding === types.length ? 'every layer' : `${sliding} of ${types.length} layers`;
    const local =
      config.slidingPositional?.kind === 'rope' ? ` (RoPE θ=${config.slidingPositional.theta})` : '';
    out.push(`sliding window of ${config.slidingWindow} tokens on ${layers}${local}`);
  }
  const moe = config.moe;
  if (moe) {
    const dense = moe.denseLayers.length ? `, ${moe.denseLayers.length} dense layers` : '';
    out.push(
      `${moe.experts} experts, top ${moe.topK}${moe.normalizeTopK ? ' renormalised' : ''}, ` +
        `expert MLP ${moe.expertIntermediateSize}${dense}`,
    );
  }
  if (config.attentionSoftcap !== undefined) out.push(`attention soft-cap ${config.attentionSoftcap}`);
  if (config.finalLogitSoftcap !== undefined) out.push(`final logit soft-cap ${config.finalLogitSoftcap}`);
  if (config.normUnitOffset) out.push('RMSNorm (1 + w)');
  if (config.sandwichNorms) out.push('norms before and after attention and MLP');
  if (config.embeddingScale !== undefined) out.push(`embeddings × ${config.embeddingScale}`);
  if (config.attentionScale !== undefined)
    out.push(`attention scale ${+config.attentionScale.toPrecision(6)}`);
  if (config.qkNorm) out.push('q/k RMSNorm per head');
  if (config.fusedProjections) out.push('fused qkv_proj and gate_up_proj');
  if (config.positional.kind === 'rope' && config.positional.partialRotaryFactor < 1) {
    out.push(`rotary on ${config.positional.partialRotaryFactor} of each head`);
  }
  return out;
}

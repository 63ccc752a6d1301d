/**
 * The architecture metadata llama.cpp reads for each family ({arch}.block_count, .context_length, … with the value
 * types convert_hf_to_gguf.py writes), Llama 3's rope_freqs tensor, and back: a ModelConfig from a GGUF we wrote.
 */

import { longRopeAttentionFactor } from '../forward/rope';
import type { ModelConfig } from '../model/types';
import { f32, type GgufValue, str, u32 } from './format';
import { type GgufArchitecture, GgufExportError } from './model-map';

type Entries = Array<readonly [string, GgufValue]>;

export function architectureMetadata(arch: GgufArchitecture, config: ModelConfig): Entries {
  const k = (key: string) => `${arch}.${key}`;
  const entries: Entries = [
    ['general.architecture', str(arch)],
    [k('block_count'), u32(config.numLayers)],
    [k('context_length'), u32(config.maxPositions)],
    [k('embedding_length'), u32(config.hiddenSize)],
    [k('feed_forward_length'), u32(config.intermediateSize)],
    [k('attention.head_count'), u32(config.numHeads)],
  ];
  if (arch === 'gpt2') {
    entries.push([k('attention.layer_norm_epsilon'), f32(config.norm.eps)]);
    return entries;
  }
  if (config.positional.kind !== 'rope') throw new GgufExportError(`${arch} needs rotary positions`);
  entries.push(
    [k('attention.head_count_kv'), u32(config.numKvHeads)],
    [k('rope.freq_base'), f32(config.positional.theta)],
    [k('attention.layer_norm_rms_epsilon'), f32(config.norm.eps)],
    [k('attention.key_length'), u32(config.headDim)],
    [k('attention.value_length'), u32(config.headDim)],
    [k('rope.dimension_count'), u32(rotaryDims(config))],
  );
  if (arch === 'llama') entries.push([k('vocab_size'), u32(config.vocabSize)]);
  if (config.moe) {
    entries.push(
      [k('expert_count'), u32(config.moe.experts)],
      [k('expert_used_count'), u32(config.moe.topK)],
    );
    // llama (Mixtral) reads each expert's width from feed_forward_length, which is intermediate_size there.
    if (arch === 'qwen3moe')
      entries.push([k('expert_feed_forward_length'), u32(config.moe.expertIntermediateSize)]);
  }
  if (config.slidingWindow !== undefined && (arch === 'gemma2' || arch === 'gemma3'))
    entries.push([k('attention.sliding_window'), u32(config.slidingWindow)]);
  if (arch === 'gemma2') {
    // llama-cpp-limits.ts refuses a gemma2 config without them: llama.cpp always caps.
    entries.push(
      [k('attn_logit_softcapping'), f32(config.attentionSoftcap as number)],
      [k('final_logit_softcapping'), f32(config.finalLogitSoftcap as number)],
    );
  }
  const scaling = config.positional.scaling;
  if (arch === 'phi3') {
    // As convert_hf_to_gguf.py's Phi3MiniModel: the original context always, LongRoPE's cos/sin scale with it.
    const original = scaling?.originalMaxPositions ?? config.maxPositions;
    entries.push([k('rope.scaling.original_context_length'), u32(original)]);
    if (scaling?.type === 'longrope')
      entries.push([k('rope.scaling.attn_factor'), f32(longRopeAttentionFactor(scaling, original))]);
  }
  if (scaling?.type === 'linear') {
    entries.push([k('rope.scaling.type'), str('linear')], [k('rope.scaling.factor'), f32(scaling.factor)]);
  }
  return entries;
}

/** Dimensions of each head that RoPE rotates (phi3: head_dim × partial_rotary_factor). */
function rotaryDims(config: ModelConfig): number {
  if (config.positional.kind !== 'rope') return config.headDim;
  return Math.floor(config.headDim * config.positional.partialRotaryFactor);
}

/**
 * LongRoPE's per-frequency divisors as llama.cpp's phi3 reads them: rope_factors_long past the original context,
 * rope_factors_short within it; else undefined.
 */
export function longRopeFactors(
  config: ModelConfig,
): Array<{ name: string; values: Float32Array }> | undefined {
  if (config.positional.kind !== 'rope' || config.positional.scaling?.type !== 'longrope') return undefined;
  const { longFactor, shortFactor } = config.positional.scaling;
  return [
    { name: 'rope_factors_long.weight', values: Float32Array.from(longFactor ?? []) },
    { name: 'rope_factors_short.weight', values: Float32Array.from(shortFactor ?? []) },
  ];
}

/** Llama 3's per-frequency RoPE divisors (the rope_freqs tensor), as the converter computes them; else undefined. */
export function llama3RopeFactors(config: ModelConfig): Float32Array | undefined {
  if (config.positional.kind !== 'rope' || config.positional.scaling?.type !== 'llama3') return undefined;
  const { theta, scaling } = config.positional;
  const dim = config.headDim;
  const factor = scaling.factor ?? 8;
  const low = scaling.lowFreqFactor ?? 1;
  const high = scaling.highFreqFactor ?? 4;
  const context = scaling.originalMaxPositions ?? 8192;
  const lowWavelength = context / low;
  const highWavelength = context / high;
  const factors = new Float32Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) {
    const frequency = Math.fround(1 / theta ** Math.fround((2 * i) / dim));
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength < highWavelength) factors[i] = 1;
    else if (wavelength > lowWavelength) factors[i] = factor;
    else {
      const smooth = (context / wavelength - low) / (high - low);
      factors[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return factors;
}

/**
 * Rotary position embedding frequencies as transformers computes them (modeling_rope_utils): the default
 * inverse frequencies θ^(−2i/d), and the rope_scaling variants linear, dynamic (NTK), llama3, yarn and longrope. Tables of
 * (cos, sin) are computed here in float64 and uploaded, rather than evaluated in f32 on the GPU.
 */
import type { RopeScaling } from '../model/types';

export interface RopeSpec {
  theta: number;
  /** Dimensions rotated per head (head_dim · partial_rotary_factor, even). */
  rotaryDim: number;
  scaling?: RopeScaling;
  /** config.max_position_embeddings (dynamic scaling starts past it). */
  maxPositions: number;
}

export class UnsupportedRopeError extends Error {
  constructor(type: string) {
    super(
      `RoPE scaling "${type}" is not supported; supported: ${SUPPORTED_ROPE_TYPES.join(', ')}. ` +
        `Remove rope_scaling from config.json only if the model was trained without it.`,
    );
    this.name = 'UnsupportedRopeError';
  }
}

export const SUPPORTED_ROPE_TYPES = ['default', 'linear', 'dynamic', 'llama3', 'yarn', 'longrope'];

function defaultFrequencies(base: number, dim: number): Float64Array {
  const inv = new Float64Array(dim / 2);
  for (let i = 0; i < inv.length; i++) inv[i] = 1 / base ** ((2 * i) / dim);
  return inv;
}

/**
 * Inverse frequencies and the attention factor that multiplies cos and sin (YaRN's mscale, 1 otherwise), for
 * a forward whose positions run up to `positions` (dynamic scaling depends on it).
 */
export function ropeFrequencies(
  rope: RopeSpec,
  positions: number,
): { inverse: Float64Array; attentionFactor: number } {
  const dim = rope.rotaryDim;
  const scaling = rope.scaling;
  const type = scaling?.type ?? 'default';
  if (!scaling || type === 'default')
    return { inverse: defaultFrequencies(rope.theta, dim), attentionFactor: 1 };
  const factor = scaling.factor;
  switch (type) {
    case 'linear':
      return { inverse: defaultFrequencies(rope.theta, dim).map((f) => f / factor), attentionFactor: 1 };
    case 'dynamic': {
      // transformers recomputes the base once positions exceed max_position_embeddings; below, it is the default.
      const original = scaling.originalMaxPositions ?? rope.maxPositions;
      if (positions <= original) return { inverse: defaultFrequencies(rope.theta, dim), attentionFactor: 1 };
      const base = rope.theta * ((factor * positions) / original - (factor - 1)) ** (dim / (dim - 2));
      return { inverse: defaultFrequencies(base, dim), attentionFactor: 1 };
    }
    case 'llama3':
      return { inverse: llama3Frequencies(rope, scaling), attentionFactor: 1 };
    case 'yarn':
      return yarnFrequencies(rope, scaling);
    case 'longrope':
      return longRopeFrequencies(rope, scaling, positions);
    default:
      throw new UnsupportedRopeError(type);
  }
}

function llama3Frequencies(rope: RopeSpec, scaling: RopeScaling): Float64Array {
  const factor = scaling.factor;
  const low = scaling.lowFreqFactor ?? 1;
  const high = scaling.highFreqFactor ?? 4;
  const context = scaling.originalMaxPositions ?? 8192;
  const lowWavelength = context / low;
  const highWavelength = context / high;
  return defaultFrequencies(rope.theta, rope.rotaryDim).map((f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength < highWavelength) return f;
    if (wavelength > lowWavelength) return f / factor;
    const smooth = (context / wavelength - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/** YaRN with the paper's defaults (beta_fast 32, beta_slow 1, attention factor 0.1·ln(factor) + 1). */
function yarnFrequencies(
  rope: RopeSpec,
  scaling: RopeScaling,
): { inverse: Float64Array; attentionFactor: number } {
  const dim = rope.rotaryDim;
  const factor = scaling.factor;
  const context = scaling.originalMaxPositions ?? rope.maxPositions;
  const correctionDim = (rotations: number) =>
    (dim * Math.log(context / (rotations * 2 * Math.PI))) / (2 * Math.log(rope.theta));
  const low = Math.max(Math.floor(correctionDim(32)), 0);
  let high = Math.min(Math.ceil(correctionDim(1)), dim - 1);
  if (low === high) high += 0.001;
  const extrapolation = defaultFrequencies(rope.theta, dim);
  const inverse = extrapolation.map((f, i) => {
    const ramp = Math.min(1, Math.max(0, (i - low) / (high - low)));
    const extrapolationWeight = 1 - ramp;
    return (f / factor) * (1 - extrapolationWeight) + f * extrapolationWeight;
  });
  return { inverse, attentionFactor: 0.1 * Math.log(factor) + 1 };
}

/** LongRoPE's cos/sin scale: the config's attention_factor, else √(1 + ln factor / ln original) past 1. */
export function longRopeAttentionFactor(scaling: RopeScaling, original: number): number {
  const factor = scaling.factor;
  return scaling.attentionFactor ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original)));
}

/**
 * LongRoPE (Phi-3/4, modeling_rope_utils._compute_longrope_parameters with Phi-3's per-forward update): each default
 * frequency divided by its short factor while the forward's positions stay within original_max_position_embeddings,
 * by its long factor past them; cos and sin scaled by √(1 + ln factor / ln original) (or the config's
 * attention_factor), whatever the length.
 */
function longRopeFrequencies(
  rope: RopeSpec,
  scaling: RopeScaling,
  positions: number,
): { inverse: Float64Array; attentionFactor: number } {
  const original = scaling.originalMaxPositions ?? rope.maxPositions;
  const factors = positions > original ? scaling.longFactor : scaling.shortFactor;
  if (!factors || factors.length !== rope.rotaryDim / 2) {
    throw new RangeError(`longrope needs ${rope.rotaryDim / 2} short and long factors`);
  }
  const attentionFactor = longRopeAttentionFactor(scaling, original);
  const inverse = defaultFrequencies(rope.theta, rope.rotaryDim).map((f, i) => f / factors[i]);
  return { inverse, attentionFactor };
}

/**
 * (cos, sin) pairs for positions [positionOffset, positionOffset + seqLen), row-major [seqLen, rotaryDim / 2],
 * scaled by the attention factor, computed in float64, with the frequencies of a forward over `positions` tokens
 * (default: up to the last of these; a piece of a longer sequence passes the whole length).
 */
export function ropeTable(
  rope: RopeSpec,
  seqLen: number,
  positionOffset = 0,
  positions = positionOffset + seqLen,
): Float64Array {
  const { inverse, attentionFactor } = ropeFrequencies(rope, positions);
  const half = inverse.length;
  const table = new Float64Array(seqLen * half * 2);
  for (let t = 0; t < seqLen; t++) {
    for (let i = 0; i < half; i++) {
      const angle = (positionOffset + t) * inverse[i];
      table[(t * half + i) * 2] = Math.cos(angle) * attentionFactor;
      table[(t * half + i) * 2 + 1] = Math.sin(angle) * attentionFactor;
    }
  }
  return table;
}

/**
 * Whether a forward over `to` positions rotates with other frequencies than one over `from` (dynamic scaling past
 * its original context, LongRoPE's long factors): keys cached before then were rotated with the old ones.
 */
export function ropeChangesBetween(rope: RopeSpec, from: number, to: number): boolean {
  const before = ropeFrequencies(rope, from);
  const after = ropeFrequencies(rope, to);
  return (
    before.attentionFactor !== after.attentionFactor || before.inverse.some((f, i) => f !== after.inverse[i])
  );
}

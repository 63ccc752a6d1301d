/**
 * Choosing the next token from the logits: greedy (the highest logit, the lowest id on a tie), or sampling at a
 * temperature from the top-p nucleus (transformers' TemperatureLogitsWarper then TopPLogitsWarper: the smallest set
 * of most likely tokens whose probability reaches top_p), drawn with a seeded PRNG so that the same seed gives the
 * same text on the same GPU. Done on the CPU in float64 from the read-back logits; one vocabulary is small work.
 */
import { seededRandom } from '../pipeline/random';

export type Sampling =
  | { kind: 'greedy' }
  | { kind: 'sample'; temperature: number; topP: number; seed: number };

export const GREEDY: Sampling = { kind: 'greedy' };

/** What the user set: temperature 0 means greedy; top-p and the seed matter only above 0. */
export interface SamplingSettings {
  temperature: number;
  topP: number;
  seed: number;
}

export const DEFAULT_SAMPLING_SETTINGS: SamplingSettings = { temperature: 0, topP: 1, seed: 0 };

/** A sampling setting out of range; `setting` names which, so the CLI can name its option and the UI its field. */
export class SamplingError extends RangeError {
  constructor(
    message: string,
    readonly setting: keyof SamplingSettings,
  ) {
    super(message);
    this.name = 'SamplingError';
  }
}

const MAX_SEED = 0xffffffff;

/** The sampling the user's settings ask for, or a SamplingError saying which setting is out of range and why. */
export function samplingOf(settings: SamplingSettings): Sampling {
  const { temperature, topP, seed } = settings;
  if (!(Number.isFinite(temperature) && temperature >= 0)) {
    throw new SamplingError(
      `The temperature must be 0 (greedy) or above; got ${temperature}.`,
      'temperature',
    );
  }
  if (!(topP > 0 && topP <= 1)) {
    throw new SamplingError(
      `Top-p must be above 0 and at most 1 (1 keeps every token); got ${topP}.`,
      'topP',
    );
  }
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED)) {
    throw new SamplingError(`The seed must be a whole number from 0 to ${MAX_SEED}; got ${seed}.`, 'seed');
  }
  return temperature === 0 ? GREEDY : { kind: 'sample', temperature, topP, seed };
}

/** Picks token ids from successive logits with one sampling setting; each picker has its own random stream. */
export class TokenPicker {
  readonly sampling: Sampling;
  private readonly random?: () => number;

  /** Checks the settings (a SamplingError names the one out of range); temperature 0 picks greedily. */
  constructor(sampling: Sampling) {
    this.sampling = sampling.kind === 'greedy' ? sampling : samplingOf(sampling);
    if (this.sampling.kind === 'sample') this.random = seededRandom(this.sampling.seed);
  }

  pick(logits: ArrayLike<number>): number {
    if (this.sampling.kind === 'greedy' || !this.random) return argmax(logits);
    return sampleTopP(logits, this.sampling.temperature, this.sampling.topP, this.random());
  }
}

export function argmax(logits: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < logits.length; i++) {
    const value = logits[i];
    // A failure of the forward, not of the user's settings.
    if (Number.isNaN(value)) throw new Error(`the logit of token ${i} is NaN: the forward pass failed`);
    if (best < 0 || value > logits[best]) best = i;
  }
  return best;
}

/** The token at cumulative probability `u` ∈ [0, 1) of the top-p nucleus of softmax(logits / temperature). */
export function sampleTopP(logits: ArrayLike<number>, temperature: number, topP: number, u: number): number {
  const best = argmax(logits);
  const max = logits[best] / temperature;
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    weights[i] = Math.exp(logits[i] / temperature - max);
    total += weights[i];
  }
  // Most likely first, the lower id first on a tie, so the nucleus and the draw never depend on sort stability.
  const order = Array.from(weights.keys()).sort((a, b) => weights[b] - weights[a] || a - b);
  let kept = 0;
  let mass = 0;
  while (kept < order.length && (kept === 0 || mass < topP * total)) mass += weights[order[kept++]];
  let cumulative = 0;
  for (let k = 0; k < kept; k++) {
    cumulative += weights[order[k]];
    if (u * mass < cumulative) return order[k];
  }
  return order[kept - 1];
}

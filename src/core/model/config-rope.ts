/**
 * Rotary position settings from config.json: rope_theta, partial_rotary_factor and rope_scaling, or transformers 5's
 * rope_parameters that holds them all (per layer type where layers differ, as Gemma 3's do). A type rope.ts does not
 * compute, or a field transformers would apply that rope.ts does not (modeling_rope_utils lists what each type
 * reads), is refused by name.
 */
import { SUPPORTED_ROPE_TYPES } from '../forward/rope';
import type { ConfigReader } from './config-reader';
import { isObject } from './config-reader';
import type { Positional, RopeScaling } from './types';

/**
 * Fields transformers reads for a type that rope.ts does not compute with: accepted only at transformers' default
 * (the value rope.ts assumes), or not at all where the default is computed. Other keys transformers ignores (and
 * warns about), and so does this parser.
 */
const UNMODELLED: Record<string, Record<string, unknown>> = {
  yarn: {
    beta_fast: 32,
    beta_slow: 1,
    truncate: true,
    attention_factor: undefined,
    mscale: undefined,
    mscale_all_dim: undefined,
  },
};

export interface RopeOptions {
  /** head_dim: LongRoPE's factor lists must have one entry per rotated frequency. */
  headDim: number;
  maxPositions: number;
  /** Old names of a type, e.g. Phi-3's "su" and "yarn", which transformers reads as "longrope". */
  typeAliases?: Record<string, string>;
}

/**
 * The rotary positions of a model whose layers share one RoPE: rope_theta and rope_scaling, or rope_parameters.
 * A rope_parameters keyed by layer type is refused here: only Gemma 3's layers differ (config-decoders.ts).
 */
export function ropePositional(read: ConfigReader, options: RopeOptions): Positional {
  const parameters = read.raw('rope_parameters');
  if (isObject(parameters) && perLayerType(parameters)) {
    read.refuse('rope_parameters', 'this model type has one RoPE for every layer, not one per layer type');
  }
  const source = isObject(parameters) ? 'rope_parameters' : 'rope_scaling';
  const json = isObject(parameters) ? parameters : read.raw('rope_scaling');
  return positionalFrom(read, source, json, options);
}

/** True when rope_parameters is keyed by layer type ({"full_attention": {…}, "sliding_attention": {…}}). */
export function perLayerType(parameters: Record<string, unknown>): boolean {
  const keys = Object.keys(parameters);
  return keys.length > 0 && keys.every((key) => key === 'full_attention' || key === 'sliding_attention');
}

/**
 * The rotary positions of one parameter set: `json` is a rope_scaling or rope_parameters object (or null), named
 * `source` in messages; rope_theta and partial_rotary_factor come from it or from the config's top level.
 */
export function positionalFrom(
  read: ConfigReader,
  source: string,
  json: unknown,
  options: RopeOptions,
): Positional {
  if (json !== undefined && json !== null && !isObject(json)) read.fail(source, 'an object');
  const params = isObject(json) ? json : {};
  const theta = params.rope_theta ?? read.raw('rope_theta') ?? 10000;
  if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 0)
    read.fail(params.rope_theta === undefined ? 'rope_theta' : source, 'a positive rope_theta');
  const partial = params.partial_rotary_factor ?? read.raw('partial_rotary_factor') ?? 1;
  if (typeof partial !== 'number' || !(partial > 0 && partial <= 1)) {
    read.fail('partial_rotary_factor', 'a number in (0, 1]');
  }
  const scaling = parseScaling(read, source, params, options, Math.floor(options.headDim * partial));
  return { kind: 'rope', theta, partialRotaryFactor: partial, ...(scaling ? { scaling } : {}) };
}

function parseScaling(
  read: ConfigReader,
  source: string,
  json: Record<string, unknown>,
  options: RopeOptions,
  rotaryDim: number,
): RopeScaling | undefined {
  const written = json.rope_type ?? json.type ?? 'default';
  if (typeof written !== 'string') read.fail(source, 'an object with a string "rope_type"');
  const type = options.typeAliases?.[written] ?? written;
  if (!SUPPORTED_ROPE_TYPES.includes(type)) {
    read.refuse(source, `rope_type "${type}" is not modelled; supported: ${SUPPORTED_ROPE_TYPES.join(', ')}`);
  }
  checkKeys(read, source, json, type);
  if (type === 'default') return undefined;
  const number = (field: string, required: boolean): number | undefined => {
    const value = json[field];
    if (value === undefined || value === null) {
      if (required) read.fail(source, `an object with "${field}" (needed by rope_type ${type})`);
      return undefined;
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      read.fail(source, `an object whose "${field}" is a positive number`);
    }
    return value;
  };
  if (type === 'longrope') return longRope(read, source, json, options, rotaryDim, number);
  const llama3 = type === 'llama3';
  const scaling: RopeScaling = { type, factor: number('factor', true) ?? 1 };
  const low = number('low_freq_factor', llama3);
  const high = number('high_freq_factor', llama3);
  const original = number('original_max_position_embeddings', llama3);
  if (low !== undefined) scaling.lowFreqFactor = low;
  if (high !== undefined) scaling.highFreqFactor = high;
  if (original !== undefined) scaling.originalMaxPositions = original;
  return scaling;
}

/** A field transformers would apply but rope.ts would not: refused by name, since ignoring it changes the model. */
function checkKeys(read: ConfigReader, source: string, json: Record<string, unknown>, type: string): void {
  const unmodelled = UNMODELLED[type] ?? {};
  for (const [key, value] of Object.entries(json)) {
    if (!Object.hasOwn(unmodelled, key) || value === null || value === unmodelled[key]) continue;
    const only = unmodelled[key] === undefined ? '' : ` other than ${JSON.stringify(unmodelled[key])}`;
    read.refuse(
      source,
      `rope_type ${type} with "${key}"${only} is not modelled here, and ignoring it would compute a different model`,
    );
  }
}

/**
 * LongRoPE (Phi-3/4): transformers takes original_max_position_embeddings from the config's top level first (Phi-3
 * keeps it there), the factor as max_position_embeddings / that where rope_scaling gives none.
 */
function longRope(
  read: ConfigReader,
  source: string,
  json: Record<string, unknown>,
  options: RopeOptions,
  rotaryDim: number,
  number: (field: string, required: boolean) => number | undefined,
): RopeScaling {
  const list = (field: string): number[] => {
    const value = json[field];
    if (
      !Array.isArray(value) ||
      value.length !== rotaryDim / 2 ||
      value.some((v) => typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    ) {
      read.fail(
        source,
        `an object whose "${field}" lists ${rotaryDim / 2} positive numbers (one per frequency)`,
      );
    }
    return value as number[];
  };
  const topLevel = read.raw('original_max_position_embeddings');
  const original =
    typeof topLevel === 'number'
      ? read.positiveInteger('original_max_position_embeddings')
      : (number('original_max_position_embeddings', false) ?? options.maxPositions);
  const scaling: RopeScaling = {
    type: 'longrope',
    factor: number('factor', false) ?? options.maxPositions / original,
    originalMaxPositions: original,
    shortFactor: list('short_factor'),
    longFactor: list('long_factor'),
  };
  const attentionFactor = number('attention_factor', false);
  if (attentionFactor !== undefined) scaling.attentionFactor = attentionFactor;
  return scaling;
}

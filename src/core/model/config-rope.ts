/**
 * Rotary position settings from config.json: rope_theta, partial_rotary_factor and rope_scaling, or transformers 5's
 * rope_parameters that holds them all (per layer type where layers differ, as Gemma 3's do). Every key a scaling
 * type reads is checked; a key this tool would not apply is refused by name (transformers' modeling_rope_utils lists
 * what each type reads).
 */
import type { ConfigReader } from './config-reader';
import { isObject } from './config-reader';
import type { Positional, RopeScaling } from './types';

/** Keys every rope parameter set may hold. */
const COMMON_KEYS = ['rope_type', 'type', 'rope_theta', 'partial_rotary_factor'];

/** The keys each scaling type reads, beyond COMMON_KEYS. */
const TYPE_KEYS: Record<string, string[]> = {
  default: [],
  linear: ['factor'],
  dynamic: ['factor', 'original_max_position_embeddings'],
  llama3: ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'],
  yarn: ['factor', 'original_max_position_embeddings'],
  longrope: ['factor', 'short_factor', 'long_factor', 'attention_factor', 'original_max_position_embeddings'],
};

/** Keys accepted only with transformers' default value, which is the value rope.ts computes with. */
const DEFAULT_ONLY: Record<string, Record<string, unknown>> = {
  yarn: { beta_fast: 32, beta_slow: 1, truncate: true },
};

export interface RopeOptions {
  /** rope_theta when the config has none (Gemma 3: 1e6 for global layers). */
  thetaDefault?: number;
  /** head_dim: LongRoPE's factor lists must have one entry per rotated frequency. */
  headDim: number;
  maxPositions: number;
  /** Old names of a type, e.g. Phi-3's "su" and "yarn", which transformers reads as "longrope". */
  typeAliases?: Record<string, string>;
}

/**
 * The rotary positions of a model whose layers share one RoPE: rope_theta and rope_scaling, or rope_parameters.
 * A per-layer-type rope_parameters is refused here; families with such layers read it with ropeForLayerType.
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
  const theta = params.rope_theta ?? read.raw('rope_theta') ?? options.thetaDefault ?? 10000;
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
  if (!Object.hasOwn(TYPE_KEYS, type)) {
    read.refuse(
      source,
      `rope_type "${type}" is not modelled; supported: ${Object.keys(TYPE_KEYS).join(', ')}`,
    );
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

/** A key the type does not read would be silently ignored: refuse it by name. */
function checkKeys(read: ConfigReader, source: string, json: Record<string, unknown>, type: string): void {
  const known = TYPE_KEYS[type];
  const defaultsOnly = DEFAULT_ONLY[type] ?? {};
  for (const [key, value] of Object.entries(json)) {
    if (COMMON_KEYS.includes(key) || known.includes(key) || value === null) continue;
    if (Object.hasOwn(defaultsOnly, key) && defaultsOnly[key] === value) continue;
    read.refuse(
      source,
      `rope_type ${type} with "${key}"${Object.hasOwn(defaultsOnly, key) ? ` other than ${JSON.stringify(defaultsOnly[key])}` : ''} is not modelled here, and ignoring it would compute a different model`,
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

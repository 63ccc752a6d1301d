/**
 * Reads config.json fields with transformers' class defaults and reports bad values with the file and field named;
 * refuses, by name, fields that would change the model in a way this tool does not compute.
 */
import { ModelFileError } from '../io/errors';
import type { Activation } from './types';

export const ACTIVATIONS: Record<string, Activation> = {
  silu: 'silu',
  swish: 'silu',
  gelu: 'gelu',
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_pytorch_tanh',
  relu: 'relu',
};

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class ConfigReader {
  constructor(
    private readonly json: Record<string, unknown>,
    private readonly defaults: Record<string, unknown>,
    readonly file: string,
    readonly modelType = '',
  ) {}

  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  explicitNull(key: string): boolean {
    return this.json[key] === null;
  }

  raw(key: string): unknown {
    return this.has(key) ? this.json[key] : this.defaults[key];
  }

  /** The value as written, or the default where the key is absent; an explicit null stays null. */
  rawOrNull(key: string): unknown {
    return Object.hasOwn(this.json, key) ? this.json[key] : this.defaults[key];
  }

  fail(key: string, expected: string): never {
    const value = JSON.stringify(this.json[key] ?? this.defaults[key])?.slice(0, 60);
    throw new ModelFileError('bad-config', `${this.file}: "${key}" is ${value}; expected ${expected}`, {
      file: this.file,
    });
  }

  /** A field this tool does not compute: refused by name rather than ignored, so no run is silently wrong. */
  refuse(key: string, why: string): never {
    const value = JSON.stringify(this.json[key])?.slice(0, 60);
    throw new ModelFileError(
      'unsupported-architecture',
      `${this.file}: "${key}": ${value} is not supported${this.modelType ? ` for ${this.modelType}` : ''}: ${why}`,
      { file: this.file },
    );
  }

  positiveInteger(key: string): number {
    const value = this.raw(key);
    if (value === undefined) this.fail(key, 'a whole number ≥ 1 (the field is missing)');
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
      this.fail(key, 'a whole number ≥ 1');
    return value;
  }

  optionalInteger(key: string): number | undefined {
    return this.has(key) || this.defaults[key] !== undefined ? this.positiveInteger(key) : undefined;
  }

  /** A whole number ≥ 1, or undefined where the field (or its default) is null or absent. */
  nullableInteger(key: string): number | undefined {
    const value = this.rawOrNull(key);
    return value === undefined || value === null ? undefined : this.positiveInteger(key);
  }

  positiveNumber(key: string): number {
    const value = this.raw(key);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      this.fail(key, 'a positive number');
    return value;
  }

  /** A positive number, or undefined where the field (or its default) is null or absent. */
  nullableNumber(key: string): number | undefined {
    const value = this.rawOrNull(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      this.fail(key, 'a positive number or null');
    return value;
  }

  boolean(key: string, fallback: boolean): boolean {
    const value = this.raw(key) ?? fallback;
    if (typeof value !== 'boolean') this.fail(key, 'true or false');
    return value;
  }

  /** A list of whole numbers ≥ 0 (layer indices), [] where absent or null. */
  indexList(key: string): number[] {
    const value = this.raw(key) ?? [];
    if (
      !Array.isArray(value) ||
      value.some((v) => typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    )
      this.fail(key, 'a list of layer indices');
    return value as number[];
  }

  /** A token id, or the first of a list (Llama 3 lists several eos ids). */
  tokenId(key: string): number | undefined {
    const value = this.raw(key);
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined || first === null) return undefined;
    if (typeof first !== 'number' || !Number.isSafeInteger(first) || first < 0) this.fail(key, 'a token id');
    return first;
  }

  activation(key: string): Activation {
    const value = this.raw(key);
    const activation = typeof value === 'string' ? ACTIVATIONS[value] : undefined;
    if (!activation) this.fail(key, `one of ${Object.keys(ACTIVATIONS).join(', ')}`);
    return activation;
  }

  optionalString(key: string): string | undefined {
    const value = this.raw(key);
    return typeof value === 'string' ? value : undefined;
  }
}

/**
 * The options of one layer prune, checked by the core's settings validator (the same limits and messages as the app
 * and the CLI) and resolved into what the kernels need.
 */
import { GGML_TYPES, type GgmlType } from '../quant/ggml-types';
import { SOLVER_SCALE_WORDS } from '../quant/solved-rows';
import {
  DEFAULT_SETTINGS,
  type PruneMethod,
  type PruneSettings,
  patternSparsity,
  type QuantMethod,
  type SparsityPattern,
} from '../settings/prune-settings';
import { assertValidSettings } from '../settings/validate';
import { InvalidSettingError, PatternMismatchError } from './errors';

export interface LayerPruneOptions {
  /** Default 'sparsegpt'. */
  method?: PruneMethod;
  /** Fraction of weights to zero, in [0, 1); unstructured only. Default 0.5. */
  sparsity?: number;
  /** Default 'unstructured'. */
  pattern?: SparsityPattern;
  /** SparseGPT's block of columns (mask selection and lazy batch update). Default 128. */
  blockSize?: number;
  /** Compute tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ) (as many FLOPs as the solve itself). Default true. */
  measureError?: boolean;
  /** Rows each invocation of the column walk owns (a kernel shape, same results). Default: 1 on a GPU, 4 on a
   * CPU-backed adapter. */
  walkRowsPerInvocation?: 1 | 4;
  /** Quantize the kept weights to a ggml type (GPTQ in the walk, or round-to-nearest); default none. */
  quantization?: LayerQuantization;
}

export interface LayerQuantization {
  /** F32 means no quantization. */
  type: GgmlType;
  /** Default 'gptq'. */
  method?: QuantMethod;
  /** GPTQ: search each block's scale for the least error (else ggml's own rule). Default true. */
  search?: boolean;
}

/** A quantization the walk runs: the ggml type, its id in the kernels, and its block shape. */
export interface ResolvedQuantization {
  type: GgmlType;
  /** ggml's type id (ggml_blocks.wgsl's TYPE_*). */
  id: number;
  method: QuantMethod;
  search: boolean;
  /** Columns per block (1 for F16) and f32 scale words per block and row (quant_block_scales.wgsl). */
  blockColumns: number;
  scaleWords: number;
}

export interface ResolvedLayerPrune {
  method: PruneMethod;
  sparsity: number;
  pattern: SparsityPattern;
  /** Columns per block; for N:M rounded up to a multiple of M (which leaves the result unchanged). */
  blockSize: number;
  /** Columns the walk kernel holds in registers at a time; a multiple of M for N:M. */
  subBlock: number;
  measureError: boolean;
  walkRowsPerInvocation?: 1 | 4;
  quantization?: ResolvedQuantization;
}

/** The settings a layer solve uses, checked by the core's one validator. */
const LAYER_FIELDS = ['method', 'sparsity', 'pattern', 'blockSize'] as const;

export function resolveLayerPrune(options: LayerPruneOptions, columns: number): ResolvedLayerPrune {
  const settings: PruneSettings = {
    ...DEFAULT_SETTINGS,
    method: options.method ?? DEFAULT_SETTINGS.method,
    sparsity: options.sparsity ?? DEFAULT_SETTINGS.sparsity,
    pattern: options.pattern ?? 'unstructured',
    blockSize: options.blockSize ?? DEFAULT_SETTINGS.blockSize,
  };
  assertValidSettings(settings, {}, LAYER_FIELDS);
  const { method, pattern, blockSize } = settings;
  const measureError = options.measureError ?? true;
  const walkRowsPerInvocation = options.walkRowsPerInvocation;
  if (walkRowsPerInvocation !== undefined && walkRowsPerInvocation !== 1 && walkRowsPerInvocation !== 4) {
    throw new InvalidSettingError('walkRowsPerInvocation', walkRowsPerInvocation, '1 or 4');
  }
  const sparsity = patternSparsity(pattern, settings.sparsity);
  const quantization = resolveQuantization(options.quantization, columns, pattern);
  // A quantized block of columns lies within one block of the walk, so that its scales are taken from weights
  // the walk has updated: blocks of the walk are whole ggml blocks (and whole N:M groups).
  const unit = lcm(quantization?.blockColumns ?? 1, pattern === 'unstructured' ? 1 : pattern.m);
  const common = {
    method,
    sparsity,
    blockSize: Math.ceil(blockSize / unit) * unit,
    measureError,
    walkRowsPerInvocation,
    quantization,
  };
  if (pattern === 'unstructured') return { ...common, pattern, subBlock: 16 };
  const { n, m } = pattern;
  if (columns % m !== 0) throw new PatternMismatchError(columns, n, m);
  const subBlock = m <= 16 ? m * Math.floor(16 / m) : m;
  return { ...common, pattern: { n, m }, subBlock };
}

function lcm(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
}

function resolveQuantization(
  quantization: LayerQuantization | undefined,
  columns: number,
  pattern: SparsityPattern,
): ResolvedQuantization | undefined {
  if (!quantization || quantization.type === 'F32') return undefined;
  const { type } = quantization;
  const scaleWords = SOLVER_SCALE_WORDS[type];
  if (scaleWords === undefined) {
    throw new InvalidSettingError(
      'quantization',
      type,
      `one of ${Object.keys(SOLVER_SCALE_WORDS).join(', ')}`,
    );
  }
  const method = quantization.method ?? 'gptq';
  if (method !== 'gptq' && method !== 'rtn')
    throw new InvalidSettingError('quantization.method', method, 'gptq or rtn');
  const blockColumns = GGML_TYPES[type].blockSize;
  if (columns % blockColumns !== 0) {
    throw new InvalidSettingError(
      'quantization',
      type,
      `a type whose blocks of ${blockColumns} fill rows of ${columns} columns`,
    );
  }
  if (pattern !== 'unstructured' && blockColumns > 1 && blockColumns % pattern.m !== 0) {
    throw new InvalidSettingError(
      'pattern',
      `${pattern.n}:${pattern.m}`,
      `groups that fill ${type} blocks of ${blockColumns}`,
    );
  }
  return {
    type,
    id: GGML_TYPES[type].id,
    method,
    search: method === 'gptq' && (quantization.search ?? true),
    blockColumns,
    scaleWords,
  };
}

/**
 * The options of one layer prune, checked by the core's settings validator (the same limits and messages as the app
 * and the CLI) and resolved into what the kernels need.
 */
import {
  DEFAULT_SETTINGS,
  type PruneMethod,
  type PruneSettings,
  patternSparsity,
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
  if (pattern === 'unstructured') {
    return { method, sparsity, pattern, blockSize, subBlock: 16, measureError, walkRowsPerInvocation };
  }
  const { n, m } = pattern;
  if (columns % m !== 0) throw new PatternMismatchError(columns, n, m);
  const subBlock = m <= 16 ? m * Math.floor(16 / m) : m;
  return {
    method,
    sparsity,
    pattern: { n, m },
    blockSize: Math.ceil(blockSize / m) * m,
    subBlock,
    measureError,
    walkRowsPerInvocation,
  };
}

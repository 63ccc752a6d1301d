/** The options of one layer prune, checked and resolved into what the kernels need. */
import type { PruneMethod, SparsityPattern } from '../pipeline/types';
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

/** Largest M the walk kernel's registers hold for an N:M group. */
export const MAX_GROUP = 32;
const METHODS: PruneMethod[] = ['sparsegpt', 'wanda', 'magnitude'];

export function resolveLayerPrune(options: LayerPruneOptions, columns: number): ResolvedLayerPrune {
  const method = options.method ?? 'sparsegpt';
  if (!METHODS.includes(method)) {
    throw new InvalidSettingError('method', method, `one of ${METHODS.join(', ')}`);
  }
  const pattern = options.pattern ?? 'unstructured';
  const blockSize = options.blockSize ?? 128;
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new InvalidSettingError('blockSize', blockSize, 'a whole number of columns ≥ 1');
  }
  const measureError = options.measureError ?? true;
  const walkRowsPerInvocation = options.walkRowsPerInvocation;
  if (walkRowsPerInvocation !== undefined && walkRowsPerInvocation !== 1 && walkRowsPerInvocation !== 4) {
    throw new InvalidSettingError('walkRowsPerInvocation', walkRowsPerInvocation, '1 or 4');
  }
  if (pattern === 'unstructured') {
    const sparsity = options.sparsity ?? 0.5;
    if (typeof sparsity !== 'number' || !(sparsity >= 0 && sparsity < 1)) {
      throw new InvalidSettingError('sparsity', sparsity, 'a fraction in [0, 1), e.g. 0.5');
    }
    return { method, sparsity, pattern, blockSize, subBlock: 16, measureError, walkRowsPerInvocation };
  }
  if (typeof pattern !== 'object' || pattern === null) {
    throw new InvalidSettingError('pattern', pattern, "'unstructured' or { n, m }");
  }
  const { n, m } = pattern;
  if (!Number.isInteger(m) || m < 2 || m > MAX_GROUP) {
    throw new InvalidSettingError('pattern M', m, `a whole number from 2 to ${MAX_GROUP}`);
  }
  if (!Number.isInteger(n) || n < 1 || n >= m) {
    throw new InvalidSettingError('pattern N', n, `a whole number from 1 to M − 1 = ${m - 1}`);
  }
  if (columns % m !== 0) throw new PatternMismatchError(columns, n, m);
  const subBlock = m <= 16 ? m * Math.floor(16 / m) : m;
  return {
    method,
    sparsity: n / m,
    pattern: { n, m },
    blockSize: Math.ceil(blockSize / m) * m,
    subBlock,
    measureError,
    walkRowsPerInvocation,
  };
}

/**
 * Whole-run settings checked before any work starts, with messages that say which control to change. The layer
 * solver checks its own options again; this catches what only makes sense for a whole model (seqlen against the
 * model's positions, skip entries that match nothing).
 */
import type { Architecture } from '../forward/architecture';
import { requireGpuForward } from '../forward/gpu-support';
import type { PruneSettings } from './types';

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

const METHODS = ['sparsegpt', 'wanda', 'magnitude'];

export function checkPruneSettings(settings: PruneSettings, arch: Architecture): void {
  const { method, sparsity, pattern, nsamples, seqlen, blockSize, percdamp, skipLayers } = settings;
  if (!METHODS.includes(method)) {
    throw new SettingsError(`Unknown method "${method}": choose sparsegpt, wanda or magnitude.`);
  }
  if (pattern === 'unstructured') {
    if (typeof sparsity !== 'number' || !(sparsity >= 0 && sparsity < 1)) {
      throw new SettingsError(
        `Sparsity must be at least 0 and below 1 (100% would delete every weight); got ${sparsity}.`,
      );
    }
  } else {
    const { n, m } = pattern;
    if (!Number.isInteger(m) || m < 2 || !Number.isInteger(n) || n < 1 || n >= m) {
      throw new SettingsError(
        `An N:M pattern needs whole numbers with 1 ≤ N < M (N zeros in every M weights); got ${n}:${m}.`,
      );
    }
  }
  if (!Number.isInteger(nsamples) || nsamples < 1) {
    throw new SettingsError(`Calibration samples must be a whole number ≥ 1; got ${nsamples}.`);
  }
  const maxPositions = arch.config.maxPositions;
  if (!Number.isInteger(seqlen) || seqlen < 2 || seqlen > maxPositions) {
    throw new SettingsError(
      `The sequence length must be a whole number from 2 to the model's ${maxPositions} positions; got ${seqlen}.`,
    );
  }
  // Before any work: a model the GPU forward would compute without one of its features is refused by name.
  requireGpuForward(arch, seqlen);
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new SettingsError(`The block size must be a whole number of columns ≥ 1; got ${blockSize}.`);
  }
  if (typeof percdamp !== 'number' || !(percdamp >= 0 && percdamp < 10)) {
    throw new SettingsError(
      `Dampening must be a fraction ≥ 0 of the mean Hessian diagonal (e.g. 0.01); got ${percdamp}.`,
    );
  }
  if (settings.evalMaxWindows !== undefined) {
    const w = settings.evalMaxWindows;
    if (!Number.isInteger(w) || w < 1) {
      throw new SettingsError(`The evaluation window limit must be a whole number ≥ 1; got ${w}.`);
    }
  }
  const linears = arch.prunableLinears();
  for (const entry of skipLayers) {
    if (!entry.trim()) continue;
    if (!linears.some((l) => skipMatches(entry, l.tensor, l.block, l.name))) {
      throw new SettingsError(
        `"${entry}" in the layers to skip matches no prunable linear (e.g. "mlp.down_proj", "layers.0.", or a ` +
          `full name like "${linears[0]?.tensor ?? ''}").`,
      );
    }
  }
}

/** A skip entry matches a tensor name exactly, a block-relative name by suffix, or a block by "layers.N." prefix. */
export function skipMatches(entry: string, tensor: string, block: number, name: string): boolean {
  const e = entry.trim();
  if (!e) return false;
  if (e === tensor || e === name || tensor.endsWith(`.${e}`) || tensor.endsWith(`.${e}.weight`)) return true;
  const blockMatch = /^(?:.*\.)?(?:layers|h|blocks)\.(\d+)\.?$/.exec(e);
  if (blockMatch) return Number(blockMatch[1]) === block;
  return tensor.includes(e.endsWith('.') ? e : `${e}.`);
}

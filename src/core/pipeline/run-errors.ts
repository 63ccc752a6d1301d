/**
 * How a pruning run fails on the GPU, in words a user can act on: out of memory (which setting to lower, by how
 * much) and a lost device (how many blocks were finished, for the resume).
 */
import type { GpuOutOfMemoryError } from '../gpu/errors';
import type { PruneSettings } from './types';

/** The GPU ran out of memory; the message says which setting to lower. */
export class OutOfMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutOfMemoryError';
  }
}

/** The GPU device went away mid-run (driver reset, out of memory, destroyed): resume on a new one. */
export class DeviceLostError extends Error {
  constructor(
    readonly reason: string,
    /** Blocks finished (and saved, when the run had a progress store) before the loss. */
    readonly completedBlocks: number,
  ) {
    super(
      `The GPU device was lost (${reason || 'no reason given'}) after ${completedBlocks} finished block` +
        `${completedBlocks === 1 ? '' : 's'}.`,
    );
    this.name = 'DeviceLostError';
  }
}

/** What to lower, in the units of the controls the user has. */
export function outOfMemory(
  error: GpuOutOfMemoryError,
  settings: PruneSettings,
  completedBlocks: number,
): OutOfMemoryError {
  const { nsamples, seqlen, evalMaxWindows } = settings;
  const lower = [
    nsamples > 1
      ? `the calibration samples (now ${nsamples}; try ${Math.max(1, Math.floor(nsamples / 2))})`
      : '',
    seqlen > 64 ? `the sequence length (now ${seqlen}; try ${Math.floor(seqlen / 2)})` : '',
    evalMaxWindows === undefined ? 'the evaluation windows scored' : '',
  ].filter(Boolean);
  return new OutOfMemoryError(
    `${error.message} Lower ${lower.join(', or ')}; closing other tabs that use the GPU also helps. ` +
      `Blocks finished so far: ${completedBlocks}.`,
  );
}

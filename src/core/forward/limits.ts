/** Size checks against the device's storage binding limit, with errors that say what to lower. */
import { bindingLimit } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';

export class ForwardMemoryError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'ForwardMemoryError';
  }
}

/** Sizes for error messages: MiB for real tensors, KiB or bytes for the tiny limits tests impose. */
export function mebibytes(bytes: number): string {
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** The largest buffer a kernel here may bind whole. */

/** Throws when `bytes` cannot be bound as one storage buffer; `remedy` says what the caller should lower. */
export function requireBindable(ctx: GpuContext, bytes: number, what: string, remedy: string): void {
  const limit = bindingLimit(ctx);
  if (bytes > limit) {
    throw new ForwardMemoryError(
      `${what} needs ${mebibytes(bytes)}, more than this GPU's storage binding limit of ${mebibytes(limit)}: ${remedy}`,
    );
  }
}

/** GPU failures with types, so callers can tell the user what to change rather than pass on a driver message. */

export class GpuOutOfMemoryError extends Error {
  constructor(
    readonly what: string,
    detail: string,
  ) {
    super(`The GPU ran out of memory while ${what}${detail ? ` (${detail})` : ''}.`);
    this.name = 'GpuOutOfMemoryError';
  }
}

export class GpuValidationError extends Error {
  constructor(
    readonly what: string,
    detail: string,
  ) {
    super(`GPU validation error while ${what}: ${detail}`);
    this.name = 'GpuValidationError';
  }
}

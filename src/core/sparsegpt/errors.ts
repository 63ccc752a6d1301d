/** Typed errors of the layer solver: callers (pipeline, CLI, UI) tell them apart and show the message as is. */

/** N:M pruning of a layer whose column count is not a multiple of M: the pipeline leaves such a layer dense. */
export class PatternMismatchError extends Error {
  constructor(
    readonly columns: number,
    readonly n: number,
    readonly m: number,
  ) {
    super(
      `${n}:${m} sparsity needs the layer's input size to be a multiple of ${m}, but it has ${columns} columns ` +
        `(${columns % m} left over); this layer cannot use the ${n}:${m} pattern`,
    );
    this.name = 'PatternMismatchError';
  }
}

/** A pruning or preparation setting outside its valid range; the message names the setting and the value. */
export class InvalidSettingError extends Error {
  constructor(
    readonly setting: string,
    readonly value: unknown,
    expectation: string,
  ) {
    super(`invalid ${setting}: ${formatValue(value)} (${expectation})`);
    this.name = 'InvalidSettingError';
  }
}

/** A weight or Hessian tensor containing NaN or ±Infinity, or one whose shape does not match. */
export class InvalidTensorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTensorError';
  }
}

/** The damped Hessian stayed numerically non-positive-definite after every allowed damping increase. */
export class CholeskyFailedError extends Error {
  constructor(
    readonly percdamp: number,
    readonly retries: number,
  ) {
    super(
      `the layer's Hessian is not positive definite even with dampening ${percdamp} × mean(diag H) after ` +
        `${retries} retries; the calibration inputs of this layer are degenerate (e.g. constant or all-zero)`,
    );
    this.name = 'CholeskyFailedError';
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

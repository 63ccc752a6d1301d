/**
 * What the family descriptions (architecture.ts, decoder-blocks.ts) share: the constructors of the spec records and
 * the error for a model this tool cannot describe.
 */
import type { InputGroup, InputGroupRole, LinearSpec, NormSpec } from './architecture';

export class UnsupportedModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedModelError';
  }
}

/** A linear whose tensors are `${tensorBase}.weight` (and `.bias`), [rows = out, cols = in]. */
export function linear(
  name: string,
  tensorBase: string,
  rows: number,
  cols: number,
  bias: boolean,
  transposed = false,
): LinearSpec {
  return {
    name,
    tensor: `${tensorBase}.weight`,
    ...(bias ? { bias: `${tensorBase}.bias` } : {}),
    rows,
    cols,
    transposed,
  };
}

export function group(role: InputGroupRole, linears: LinearSpec[], expert?: number): InputGroup {
  const rows = linears.reduce((sum, l) => sum + l.rows, 0);
  return { role, features: linears[0].cols, linears, rows, ...(expert === undefined ? {} : { expert }) };
}

export function norm(base: string, withBias: boolean): NormSpec {
  return { weight: `${base}.weight`, ...(withBias ? { bias: `${base}.bias` } : {}) };
}

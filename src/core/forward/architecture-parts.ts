/**
 * What the family descriptions (decoder-blocks.ts, learned-position-families.ts) share: the constructors of a
 * block's spec records and the error for a model this tool cannot describe (the model-level record: family-model.ts).
 */
import type { BlockSpec, InputGroup, InputGroupRole, LinearSpec, NormSpec } from './architecture';

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

/** A block's norms and groups, with its prunable linears listed in execution order. */
export function blockOf(
  index: number,
  attentionNorm: NormSpec,
  mlpNorm: NormSpec,
  groups: InputGroup[],
): BlockSpec {
  return { index, attentionNorm, mlpNorm, groups, linears: groups.flatMap((g) => g.linears) };
}

/** The stored shape of a linear's weight tensor, as the checkpoint holds it. */
export function storedShape(spec: LinearSpec): [number, number] {
  return spec.transposed ? [spec.cols, spec.rows] : [spec.rows, spec.cols];
}

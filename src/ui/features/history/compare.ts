/** Which values of a comparison row to mark "best". Pure, unit-tested. */

/** Lower is better (perplexity, error, time), or no value is better than another (sparsity is a choice). */
export type Better = 'lower' | 'none';

/**
 * Indices of the best values in a row: the lowest where lower is better. Nothing is marked when fewer than two
 * values are known or when all known values are equal (a tie everywhere says nothing).
 */
export function bestOf(values: Array<number | undefined>, better: Better): Set<number> {
  const best = new Set<number>();
  if (better === 'none') return best;
  const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  if (known.length < 2) return best;
  const lowest = Math.min(...known);
  if (known.every((v) => v === lowest)) return best;
  values.forEach((v, i) => {
    if (v === lowest) best.add(i);
  });
  return best;
}

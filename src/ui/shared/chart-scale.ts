/** Shared scale helpers for the SVG charts (errors span decades, so their axes are logarithmic). */

export interface LogScale {
  min: number;
  max: number;
  /** 0 at `min`, 1 at `max`. */
  at(value: number): number;
  ticks: number[];
}

/** A log10 scale over whole decades that holds all positive finite values. */
export function logScale(values: number[], floor = 1e-8): LogScale {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  const low = positive.length ? Math.max(floor, Math.min(...positive)) : 1e-4;
  const high = positive.length ? Math.max(...positive) : 1;
  let minExp = Math.floor(Math.log10(low));
  let maxExp = Math.ceil(Math.log10(high));
  if (maxExp === minExp) maxExp = minExp + 1;
  if (maxExp - minExp > 8) minExp = maxExp - 8;
  const ticks: number[] = [];
  for (let e = minExp; e <= maxExp; e++) ticks.push(10 ** e);
  const min = 10 ** minExp;
  const max = 10 ** maxExp;
  return {
    min,
    max,
    ticks,
    at: (value) => {
      if (!(value > 0)) return 0;
      const t = (Math.log10(value) - minExp) / (maxExp - minExp);
      return Math.min(1, Math.max(0, t));
    },
  };
}

export function tickLabel(value: number): string {
  const exponent = Math.round(Math.log10(value));
  return exponent === 0 ? '1' : `1e${exponent}`;
}

/** Linear kinds in the order they first appear, for colours and legends ("q_proj", "mlp.down_proj" → "down_proj"). */
export function kindOf(name: string): string {
  const parts = name.split('.');
  return parts[parts.length - 1];
}

/**
 * One colour per kind of linear (q, k, v, o, gate, up, down, and one spare), far apart in lightness or hue so that
 * neighbouring bars never look alike (Tableau 10's categorical set; the test checks each pair's CIE ΔE).
 */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#b07aa1',
  '#e15759',
  '#76b7b2',
  '#edc948',
  '#9c755f',
];

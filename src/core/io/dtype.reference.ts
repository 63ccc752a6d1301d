/**
 * Float64 references for the float conversions: half values from their definition, and rounding by searching the
 * representable values for the nearest one (ties to the even bit pattern), with no bit tricks.
 */

export function halfValueReference(bits: number): number {
  const negative = bits >= 0x8000;
  const exponentField = Math.floor((bits % 0x8000) / 1024);
  const fraction = (bits % 1024) / 1024;
  let magnitude: number;
  if (exponentField === 31) magnitude = fraction === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
  else if (exponentField === 0) magnitude = fraction * 2 ** -14;
  else magnitude = (1 + fraction) * 2 ** (exponentField - 15);
  return negative ? -magnitude : magnitude;
}

let positiveHalves: number[] | undefined;

/** Nearest half to `value` (a float32), ties to even; beyond 65504 + half an ulp (65520) it is infinity. */
export function nearestHalfBitsReference(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  positiveHalves ??= Array.from({ length: 0x7c00 }, (_, bits) => halfValueReference(bits));
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return sign | 0x7c00;
  let low = 0;
  let high = positiveHalves.length - 1;
  while (high - low > 1) {
    const mid = (low + high) >> 1;
    if (positiveHalves[mid] <= magnitude) low = mid;
    else high = mid;
  }
  const below = magnitude - positiveHalves[low];
  const above = positiveHalves[high] - magnitude;
  const pick = below < above ? low : above < below ? high : low % 2 === 0 ? low : high;
  return sign | pick;
}

/** Nearest bfloat16 to a float32, ties to even, by comparing the two truncations around it in float64. */
export function nearestBfloat16BitsReference(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  const bits = view.getUint32(0);
  if (Number.isNaN(value)) return 0x7fc0;
  const lowBits = Math.floor(bits / 0x10000);
  const toValue = (upper: number) => {
    if ((upper & 0x7fff) === 0x7f80) return (upper & 0x8000 ? -1 : 1) * 2 ** 128;
    view.setUint32(0, upper * 0x10000);
    return view.getFloat32(0);
  };
  const low = toValue(lowBits);
  const high = toValue(lowBits + 1);
  const below = Math.abs(value - low);
  const above = Math.abs(high - value);
  return below < above ? lowBits : above < below ? lowBits + 1 : lowBits % 2 === 0 ? lowBits : lowBits + 1;
}

/**
 * ggml's searches for a sub-block's scale (ggml-quants.c's make_qkx2_quants for Q4_K/Q5_K, make_qx_quants with
 * rmse_type 1 for Q6_K), in float32 step for step, so the scales and codes match llama.cpp's quantizer bit for bit.
 */
import { f32, nearestInt } from './float32';

/**
 * Scale and minimum (x ≈ scale·L − min, L in 0 … nmax) for x[start, start + n) minimizing the weighted squared error
 * over nstep + 1 candidate scales; writes the codes into L[lStart …] and returns [scale, min].
 */
export function searchScaleAndMin(
  x: ArrayLike<number>,
  start: number,
  n: number,
  nmax: number,
  weights: Float32Array,
  L: Uint8Array,
  lStart: number,
  rmin: number,
  rdelta: number,
  nstep: number,
): [number, number] {
  let min = x[start];
  let max = x[start];
  let sumW = weights[0];
  let sumX = f32(sumW * x[start]);
  for (let i = 1; i < n; i++) {
    const v = x[start + i];
    if (v < min) min = v;
    if (v > max) max = v;
    sumW = f32(sumW + weights[i]);
    sumX = f32(sumX + f32(weights[i] * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0, lStart, lStart + n);
    return [0, -min];
  }
  let iscale = f32(nmax / f32(max - min));
  let scale = f32(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = Math.max(0, Math.min(nmax, nearestInt(f32(iscale * f32(x[start + i] - min)))));
    L[lStart + i] = l;
    const diff = f32(f32(f32(scale * l) + min) - x[start + i]);
    bestError = f32(bestError + f32(weights[i] * f32(diff * diff)));
  }
  const Laux = new Uint8Array(n);
  for (let step = 0; step <= nstep; step++) {
    // ggml overwrites min with each better candidate's, and the next candidates are derived from it.
    iscale = f32(f32(f32(rmin + f32(rdelta * step)) + nmax) / f32(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(f32(iscale * f32(x[start + i] - min)))));
      Laux[i] = l;
      const wl = f32(weights[i] * l);
      sumL = f32(sumL + wl);
      sumL2 = f32(sumL2 + f32(wl * l));
      sumXL = f32(sumXL + f32(wl * x[start + i]));
    }
    const D = f32(f32(sumW * sumL2) - f32(sumL * sumL));
    if (!(D > 0)) continue;
    let thisScale = f32(f32(f32(sumW * sumXL) - f32(sumX * sumL)) / D);
    let thisMin = f32(f32(f32(sumL2 * sumX) - f32(sumL * sumXL)) / D);
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = f32(sumXL / sumL2);
    }
    let error = 0;
    for (let i = 0; i < n; i++) {
      const diff = f32(f32(f32(thisScale * Laux[i]) + thisMin) - x[start + i]);
      error = f32(error + f32(weights[i] * f32(diff * diff)));
    }
    if (error < bestError) {
      L.set(Laux, lStart);
      bestError = error;
      scale = thisScale;
      min = thisMin;
    }
  }
  return [scale, -min];
}

const GROUP_MAX_EPS = f32(1e-15);
const TENTH = f32(0.1);

/**
 * Symmetric scale (x ≈ scale·(L − nmax), L in 0 … 2·nmax − 1) for x[start, start + n), weighting each value by x²
 * and trying 18 scales around the one that maps the extreme value to −nmax; writes codes into L[lStart …].
 */
export function searchSymmetricScale(
  x: ArrayLike<number>,
  start: number,
  n: number,
  nmax: number,
  L: Uint8Array,
  lStart: number,
): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[start + i]);
    if (ax > amax) {
      amax = ax;
      max = x[start + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    L.fill(0, lStart, lStart + n);
    return 0;
  }
  const sums = (iscale: number, write: boolean): [number, number] => {
    let sumLX = 0;
    let sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[start + i];
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f32(iscale * v))));
      if (write) L[lStart + i] = l + nmax;
      const w = f32(v * v);
      sumLX = f32(sumLX + f32(f32(w * v) * l));
      sumL2 = f32(sumL2 + f32(f32(w * l) * l));
    }
    return [sumLX, sumL2];
  };
  let [sumLX, sumL2] = sums(f32(-nmax / max), true);
  let scale = sumL2 ? f32(sumLX / sumL2) : 0;
  let best = f32(scale * sumLX);
  for (let step = -9; step <= 9; step++) {
    if (step === 0) continue;
    const iscale = f32(-f32(nmax + f32(TENTH * step)) / max);
    [sumLX, sumL2] = sums(iscale, false);
    if (sumL2 > 0 && f32(sumLX * sumLX) > f32(best * sumL2)) {
      sums(iscale, true);
      scale = f32(sumLX / sumL2);
      best = f32(scale * sumLX);
    }
  }
  return scale;
}

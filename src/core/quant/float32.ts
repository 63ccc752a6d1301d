/**
 * ggml's quantizers are C code in float32. JavaScript computes in float64, so every operation below is rounded to
 * float32 (Math.fround) exactly where the C code rounds: for +, −, ×, ÷ and sqrt of float32 operands, float64
 * followed by one rounding to float32 gives the correctly rounded float32 result, so the bits match ggml's.
 */
import { float16BitsFromNumber, float16BitsToNumber } from '../io/dtype';

export const f32 = Math.fround;

/** ggml's nearest_int: float32 x + 1.5·2²³, which rounds to the nearest integer, ties to even (|x| < 2²²). */
export function nearestInt(x: number): number {
  return f32(x + 12582912) - 12582912;
}

/** C's roundf: halves away from zero. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** A float32 stored as IEEE half (ggml's GGML_FP32_TO_FP16: round to nearest even) and read back as ggml does. */
export function throughHalf(x: number): number {
  return float16BitsToNumber(float16BitsFromNumber(x));
}

export function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}

export function readHalf(bytes: Uint8Array, offset: number): number {
  return float16BitsToNumber(bytes[offset] | (bytes[offset + 1] << 8));
}

export function writeHalf(value: number, out: Uint8Array, offset: number): void {
  const bits = float16BitsFromNumber(value);
  out[offset] = bits & 0xff;
  out[offset + 1] = bits >>> 8;
}

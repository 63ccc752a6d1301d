/**
 * ggml's 32-element block formats with one fp16 scale per block (Q8_0, Q4_0, Q5_0) or a scale and a minimum (Q5_1),
 * following ggml-quants.c's quantize_row_*_ref rules: the scale from the block's absolute maximum (signed, for
 * Q4_0/Q5_0, so that the extreme value lands on the grid's end), codes rounded with the unrounded scale's inverse,
 * the scale stored as fp16. Written here rather than bound from ggml so that the same rules run in the browser.
 */
import type { BlockQuantizer } from './block-quantizer';
import { clamp, f32, readHalf, roundHalfAway, throughHalf, writeHalf } from './float32';

export interface LegacyScales {
  /** The stored scale (fp16) as float32. */
  d: number;
  /** What ggml multiplies a value by to round it: 1/d before d was rounded to fp16 (0 for an all-zero block). */
  inverse: number;
  /** Q5_1 only: the unrounded minimum ggml subtracts before scaling, and the stored (fp16) one. */
  min: number;
  m: number;
}

const FLT_MAX = 3.4028234663852886e38;

function inverseOf(d: number): number {
  return d ? f32(1 / d) : 0;
}

/** The block's value of largest magnitude, signed; the first one on ties, as ggml's strict comparison keeps. */
function signedMax(values: ArrayLike<number>, start: number, count: number): number {
  let amax = 0;
  let max = 0;
  for (let i = start; i < start + count; i++) {
    const v = values[i];
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

function symmetric(d: number): LegacyScales {
  return { d: throughHalf(d), inverse: inverseOf(d), min: 0, m: 0 };
}

function stored(d: number, m = 0): LegacyScales {
  return { d, inverse: d ? f32(1 / d) : 0, min: m, m };
}

export const Q8_0: BlockQuantizer<LegacyScales> = {
  type: 'Q8_0',
  blockSize: 32,
  blockBytes: 34,
  groupSize: 32,
  zeroExact: true,
  scales(values, start) {
    let amax = 0;
    for (let i = start; i < start + 32; i++) amax = Math.max(amax, Math.abs(values[i]));
    return symmetric(f32(amax / 127));
  },
  code: (x, s) => clamp(roundHalfAway(f32(x * s.inverse)), -128, 127),
  value: (q, s) => f32(q * s.d),
  pack(codes, s, out, offset) {
    writeHalf(s.d, out, offset);
    for (let i = 0; i < 32; i++) out[offset + 2 + i] = codes[i] & 0xff;
  },
  unpack(bytes, offset, codes) {
    for (let i = 0; i < 32; i++) codes[i] = (bytes[offset + 2 + i] << 24) >> 24;
    return stored(readHalf(bytes, offset));
  },
};

/** Q4_0 and Q5_0: codes 0 … 2·half − 1 for (code − half)·d, with d = (signed max) / −half. */
function symmetricNibbles(type: 'Q4_0' | 'Q5_0', half: 8 | 16): BlockQuantizer<LegacyScales> {
  const top = 2 * half - 1;
  const highBits = half === 16;
  const quantsAt = highBits ? 6 : 2;
  return {
    type,
    blockSize: 32,
    blockBytes: highBits ? 22 : 18,
    groupSize: 32,
    zeroExact: true,
    scales: (values, start) => symmetric(f32(signedMax(values, start, 32) / -half)),
    // C's (int8_t) cast truncates; within the block's range the argument is positive.
    code: (x, s) => clamp(Math.trunc(f32(f32(x * s.inverse) + half + 0.5)), 0, top),
    value: (q, s) => f32((q - half) * s.d),
    pack(codes, s, out, offset) {
      writeHalf(s.d, out, offset);
      packFiveBitHighs(codes, highBits, out, offset + 2);
      for (let j = 0; j < 16; j++) out[offset + quantsAt + j] = (codes[j] & 15) | ((codes[j + 16] & 15) << 4);
    },
    unpack(bytes, offset, codes) {
      unpackNibbles(bytes, offset + quantsAt, highBits ? offset + 2 : -1, codes);
      return stored(readHalf(bytes, offset));
    },
  };
}

export const Q4_0 = symmetricNibbles('Q4_0', 8);
export const Q5_0 = symmetricNibbles('Q5_0', 16);

export const Q5_1: BlockQuantizer<LegacyScales> = {
  type: 'Q5_1',
  blockSize: 32,
  blockBytes: 24,
  groupSize: 32,
  zeroExact: false,
  scales(values, start) {
    let min = FLT_MAX;
    let max = -FLT_MAX;
    for (let i = start; i < start + 32; i++) {
      if (values[i] < min) min = values[i];
      if (values[i] > max) max = values[i];
    }
    const d = f32(f32(max - min) / 31);
    return { d: throughHalf(d), inverse: inverseOf(d), min, m: throughHalf(min) };
  },
  code: (x, s) => clamp(Math.trunc(f32(f32(f32(x - s.min) * s.inverse) + 0.5)), 0, 31),
  value: (q, s) => f32(f32(q * s.d) + s.m),
  pack(codes, s, out, offset) {
    writeHalf(s.d, out, offset);
    writeHalf(s.m, out, offset + 2);
    packFiveBitHighs(codes, true, out, offset + 4);
    for (let j = 0; j < 16; j++) out[offset + 8 + j] = (codes[j] & 15) | ((codes[j + 16] & 15) << 4);
  },
  unpack(bytes, offset, codes) {
    unpackNibbles(bytes, offset + 8, offset + 4, codes);
    return stored(readHalf(bytes, offset), readHalf(bytes, offset + 2));
  },
};

/** The fifth bits of 32 codes as one little-endian uint32: bit j for code j. */
function packFiveBitHighs(codes: ArrayLike<number>, present: boolean, out: Uint8Array, offset: number): void {
  if (!present) return;
  for (let byte = 0; byte < 4; byte++) {
    let bits = 0;
    for (let bit = 0; bit < 8; bit++) bits |= ((codes[byte * 8 + bit] >> 4) & 1) << bit;
    out[offset + byte] = bits;
  }
}

function unpackNibbles(bytes: Uint8Array, quantsAt: number, highsAt: number, codes: Int32Array): void {
  for (let j = 0; j < 16; j++) {
    codes[j] = bytes[quantsAt + j] & 15;
    codes[j + 16] = bytes[quantsAt + j] >> 4;
  }
  if (highsAt < 0) return;
  for (let i = 0; i < 32; i++) codes[i] |= ((bytes[highsAt + (i >> 3)] >> (i & 7)) & 1) << 4;
}

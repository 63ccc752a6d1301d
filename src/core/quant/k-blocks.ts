/**
 * ggml's K-quant super-blocks of 256 elements (ggml-quants.c's quantize_row_q4_K_ref, _q5_K_ref, _q6_K_ref):
 * Q4_K/Q5_K hold eight sub-blocks of 32 with a 6-bit scale and 6-bit minimum each, under two fp16 super-scales
 * (x = d·sc·q − dmin·m); Q6_K holds sixteen sub-blocks of 16 with an 8-bit signed scale under one fp16 super-scale
 * (x = d·sc·(q − 32)). Scales come from ggml's searches (k-scale-search.ts), then are quantized to 6/8 bits, then
 * every value is rounded under the quantized scales — except in a sub-block whose quantized scale is 0, where ggml
 * keeps the search's codes (any code gives the same value there).
 */
import type { BlockQuantizer } from './block-quantizer';
import { clamp, f32, nearestInt, readHalf, throughHalf, writeHalf } from './float32';
import { searchScaleAndMin, searchSymmetricScale } from './k-scale-search';

export interface KScales {
  /** Stored super-scales (fp16) as float32; dmin is 0 for Q6_K. */
  d: number;
  dmin: number;
  /** Quantized sub-block scales (Q4_K/Q5_K: 0 … 63; Q6_K: −128 … 127) and minimums (Q4_K/Q5_K: 0 … 63). */
  sc: Int32Array;
  m: Int32Array;
  /** Per sub-block: d·sc and dmin·m in float32, as ggml multiplies them. */
  step: Float32Array;
  offset: Float32Array;
  /** Codes ggml keeps for sub-blocks whose step is 0. */
  kept: Uint8Array;
}

function emptyScales(groups: number): KScales {
  return {
    d: 0,
    dmin: 0,
    sc: new Int32Array(groups),
    m: new Int32Array(groups),
    step: new Float32Array(groups),
    offset: new Float32Array(groups),
    kept: new Uint8Array(256),
  };
}

/**
 * K scales from their stored parts (super-scales as float32, sub-block scales and minimums as whole numbers), as
 * the GPU solver hands them over; no kept codes (any code gives the value of a sub-block whose step is 0).
 */
export function kScalesOf(d: number, dmin: number, sc: ArrayLike<number>, m: ArrayLike<number>): KScales {
  const s = emptyScales(sc.length);
  s.d = d;
  s.dmin = dmin;
  s.sc.set(sc);
  s.m.set(m);
  return withSteps(s);
}

function withSteps(s: KScales): KScales {
  for (let j = 0; j < s.sc.length; j++) {
    s.step[j] = f32(s.d * s.sc[j]);
    s.offset[j] = f32(s.dmin * s.m[j]);
  }
  return s;
}

/** The 12 bytes of eight 6-bit scales and minimums (ggml's get_scale_min_k4 reads them back). */
function packScalesAndMins(s: KScales, out: Uint8Array, at: number): void {
  for (let j = 0; j < 8; j++) {
    const ls = s.sc[j];
    const lm = s.m[j];
    if (j < 4) {
      out[at + j] = ls;
      out[at + j + 4] = lm;
    } else {
      out[at + j + 4] = (ls & 15) | ((lm & 15) << 4);
      out[at + j - 4] |= (ls >> 4) << 6;
      out[at + j] |= (lm >> 4) << 6;
    }
  }
}

function unpackScalesAndMins(bytes: Uint8Array, at: number, s: KScales): void {
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      s.sc[j] = bytes[at + j] & 63;
      s.m[j] = bytes[at + j + 4] & 63;
    } else {
      s.sc[j] = (bytes[at + j + 4] & 15) | ((bytes[at + j - 4] >> 6) << 4);
      s.m[j] = (bytes[at + j + 4] >> 4) | ((bytes[at + j] >> 6) << 4);
    }
  }
}

/** Q4_K (nmax 15) and Q5_K (nmax 31): x = d·sc·q − dmin·m per sub-block of 32. */
function scaleMinBlocks(type: 'Q4_K' | 'Q5_K'): BlockQuantizer<KScales> {
  const five = type === 'Q5_K';
  const nmax = five ? 31 : 15;
  const quantsAt = five ? 48 : 16;
  return {
    type,
    blockSize: 256,
    blockBytes: five ? 176 : 144,
    groupSize: 32,
    zeroExact: false,
    scales(values, start) {
      const s = emptyScales(8);
      const scales = new Float32Array(8);
      const mins = new Float32Array(8);
      const weights = new Float32Array(32);
      let maxScale = 0;
      let maxMin = 0;
      for (let j = 0; j < 8; j++) {
        const at = start + 32 * j;
        let sumX2 = 0;
        for (let l = 0; l < 32; l++) sumX2 = f32(sumX2 + f32(values[at + l] * values[at + l]));
        const average = f32(Math.sqrt(f32(sumX2 / 32)));
        for (let l = 0; l < 32; l++) weights[l] = f32(average + Math.abs(values[at + l]));
        const rmin = five ? -0.5 : -1;
        [scales[j], mins[j]] = searchScaleAndMin(
          values,
          at,
          32,
          nmax,
          weights,
          s.kept,
          32 * j,
          rmin,
          f32(0.1),
          five ? 15 : 20,
        );
        if (scales[j] > maxScale) maxScale = scales[j];
        if (mins[j] > maxMin) maxMin = mins[j];
      }
      const inverseScale = maxScale > 0 ? f32(63 / maxScale) : 0;
      const inverseMin = maxMin > 0 ? f32(63 / maxMin) : 0;
      for (let j = 0; j < 8; j++) {
        // ggml stores nearest_int's result in a uint8_t, then caps it at 63.
        s.sc[j] = Math.min(63, nearestInt(f32(inverseScale * scales[j])) & 255);
        s.m[j] = Math.min(63, nearestInt(f32(inverseMin * mins[j])) & 255);
      }
      s.d = throughHalf(f32(maxScale / 63));
      s.dmin = throughHalf(f32(maxMin / 63));
      return withSteps(s);
    },
    code(x, s, index) {
      const j = index >> 5;
      const step = s.step[j];
      if (!step) return s.kept[index];
      return clamp(nearestInt(f32(f32(x + s.offset[j]) / step)), 0, nmax);
    },
    value: (q, s, index) => f32(f32(s.step[index >> 5] * q) - s.offset[index >> 5]),
    pack(codes, s, out, offset) {
      writeHalf(s.d, out, offset);
      writeHalf(s.dmin, out, offset + 2);
      out.fill(0, offset + 4, offset + quantsAt);
      packScalesAndMins(s, out, offset + 4);
      for (let chunk = 0; chunk < 4; chunk++) {
        const at = offset + quantsAt + 32 * chunk;
        for (let l = 0; l < 32; l++) {
          const low = codes[64 * chunk + l];
          const high = codes[64 * chunk + 32 + l];
          out[at + l] = (low & 15) | ((high & 15) << 4);
          if (five) out[offset + 16 + l] |= ((low >> 4) << (2 * chunk)) | ((high >> 4) << (2 * chunk + 1));
        }
      }
    },
    unpack(bytes, offset, codes) {
      const s = emptyScales(8);
      s.d = readHalf(bytes, offset);
      s.dmin = readHalf(bytes, offset + 2);
      unpackScalesAndMins(bytes, offset + 4, s);
      for (let chunk = 0; chunk < 4; chunk++) {
        const at = offset + quantsAt + 32 * chunk;
        for (let l = 0; l < 32; l++) {
          const highs = five ? bytes[offset + 16 + l] >> (2 * chunk) : 0;
          codes[64 * chunk + l] = (bytes[at + l] & 15) | ((highs & 1) << 4);
          codes[64 * chunk + 32 + l] = (bytes[at + l] >> 4) | (((highs >> 1) & 1) << 4);
        }
      }
      s.kept.set(codes);
      return withSteps(s);
    },
  };
}

export const Q4_K = scaleMinBlocks('Q4_K');
export const Q5_K = scaleMinBlocks('Q5_K');

const GROUP_MAX_EPS = f32(1e-15);

export const Q6_K: BlockQuantizer<KScales> = {
  type: 'Q6_K',
  blockSize: 256,
  blockBytes: 210,
  groupSize: 16,
  zeroExact: true,
  scales(values, start) {
    const s = emptyScales(16);
    const scales = new Float32Array(16);
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let j = 0; j < 16; j++) {
      scales[j] = searchSymmetricScale(values, start + 16 * j, 16, 32, s.kept, 16 * j);
      if (Math.abs(scales[j]) > maxAbsScale) {
        maxAbsScale = Math.abs(scales[j]);
        maxScale = scales[j];
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      // ggml zeroes the whole block: every code 0, every scale 0.
      s.kept.fill(0);
      return withSteps(s);
    }
    const iscale = f32(-128 / maxScale);
    s.d = throughHalf(f32(1 / iscale));
    for (let j = 0; j < 16; j++) s.sc[j] = (Math.min(127, nearestInt(f32(iscale * scales[j]))) << 24) >> 24;
    return withSteps(s);
  },
  code(x, s, index) {
    const step = s.step[index >> 4];
    if (!step) return s.kept[index];
    return clamp(nearestInt(f32(x / step)), -32, 31) + 32;
  },
  value: (q, s, index) => f32(s.step[index >> 4] * (q - 32)),
  pack(codes, s, out, offset) {
    for (let half = 0; half < 2; half++) {
      const ql = offset + 64 * half;
      const qh = offset + 128 + 32 * half;
      for (let l = 0; l < 32; l++) {
        const [q1, q2, q3, q4] = [0, 32, 64, 96].map((k) => codes[128 * half + l + k]);
        out[ql + l] = (q1 & 15) | ((q3 & 15) << 4);
        out[ql + l + 32] = (q2 & 15) | ((q4 & 15) << 4);
        out[qh + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
    for (let j = 0; j < 16; j++) out[offset + 192 + j] = s.sc[j] & 255;
    writeHalf(s.d, out, offset + 208);
  },
  unpack(bytes, offset, codes) {
    const s = emptyScales(16);
    for (let half = 0; half < 2; half++) {
      const ql = offset + 64 * half;
      const qh = offset + 128 + 32 * half;
      for (let l = 0; l < 32; l++) {
        const h = bytes[qh + l];
        const base = 128 * half + l;
        codes[base] = (bytes[ql + l] & 15) | ((h & 3) << 4);
        codes[base + 32] = (bytes[ql + l + 32] & 15) | (((h >> 2) & 3) << 4);
        codes[base + 64] = (bytes[ql + l] >> 4) | (((h >> 4) & 3) << 4);
        codes[base + 96] = (bytes[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4);
      }
    }
    for (let j = 0; j < 16; j++) s.sc[j] = (bytes[offset + 192 + j] << 24) >> 24;
    s.d = readHalf(bytes, offset + 208);
    s.kept.set(codes);
    return withSteps(s);
  },
};

// ggml_blocks.wgsl — ggml's block formats in WGSL: not a kernel but the functions that quant_block_scales.wgsl and
// prune_block_walk.wgsl share (their hosts put this text in front of theirs; WGSL has no includes). Everything is
// f32 and u32 arithmetic (no shader-f16): the CPU quantizers in src/core/quant/ are the reference, and these follow
// them operation for operation, so that a block quantized here is the block llama.cpp's quantizer writes.
// WGSL guarantees correctly rounded +, − and ×, but only 2.5 ULP for / and sqrt: the divisions and the square root
// of ggml's rules are therefore done exactly in integer arithmetic (divideExact, sqrtExact), and fp16 rounding is
// done on the bits (toHalf), never through pack2x16float, whose rounding direction WGSL leaves open.
//
// Types use ggml's ids (ggml.h): 0 none (F32, no rounding), 1 F16, 2 Q4_0, 6 Q5_0, 7 Q5_1, 8 Q8_0, 12 Q4_K,
// 13 Q5_K, 14 Q6_K. A block's scales are SCALE_WORDS f32 words per block and row (scaleWords below):
//   Q8_0, Q4_0, Q5_0: [d (the stored fp16 scale, as f32), inverse (what a value is multiplied by to round it)]
//   Q5_1:             [d, inverse, min (unrounded, subtracted before scaling), m (the stored fp16 minimum)]
//   Q4_K, Q5_K:       [d, dmin, sc[8], m[8]] (sub-block scales and minimums as whole numbers 0 … 63)
//   Q6_K:             [d, sc[16]] (signed sub-block scales −128 … 127), one word of padding.

const TYPE_NONE: u32 = 0u;
const TYPE_F16: u32 = 1u;
const TYPE_Q4_0: u32 = 2u;
const TYPE_Q5_0: u32 = 6u;
const TYPE_Q5_1: u32 = 7u;
const TYPE_Q8_0: u32 = 8u;
const TYPE_Q4_K: u32 = 12u;
const TYPE_Q5_K: u32 = 13u;
const TYPE_Q6_K: u32 = 14u;

/** Elements per block along a row: 1 for plain floats, 32 for the legacy blocks, 256 for K-quant super-blocks. */
fn blockColumns(type_: u32) -> u32 {
  if (type_ == TYPE_NONE || type_ == TYPE_F16) { return 1u; }
  if (type_ >= TYPE_Q4_K) { return 256u; }
  return 32u;
}

fn scaleWords(type_: u32) -> u32 {
  if (type_ == TYPE_NONE || type_ == TYPE_F16) { return 0u; }
  if (type_ == TYPE_Q5_1) { return 4u; }
  if (type_ >= TYPE_Q4_K) { return 18u; }
  return 2u;
}

/** x rounded to IEEE half (to nearest, ties to even, as ggml's fp32→fp16 conversion) and read back as f32. */
fn toHalf(x: f32) -> f32 {
  let bits = bitcast<u32>(x);
  let sign = bits & 0x80000000u;
  let magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x477ff000u) { return bitcast<f32>(sign | 0x7f800000u); } // ≥ 65520 rounds to infinity
  if (magnitude >= 0x38800000u) {
    // Normal halves (≥ 2⁻¹⁴): drop 13 significand bits, ties to even; a carry moves into the exponent.
    let rounded = (magnitude + 0xfffu + ((magnitude >> 13u) & 1u)) & 0xffffe000u;
    return bitcast<f32>(sign | rounded);
  }
  // Subnormal halves: multiples of 2⁻²⁴ (scaling by a power of two is exact, round() ties to even).
  let units = round(bitcast<f32>(magnitude) * 16777216.0);
  return bitcast<f32>(sign | bitcast<u32>(units * 5.9604644775390625e-8));
}

/** ggml's nearest_int: to nearest, ties to even (WGSL's round). */
fn nearestInt(x: f32) -> f32 {
  return round(x);
}

/** C's roundf: halves away from zero (the fractional part x − trunc(x) is exact). */
fn roundHalfAway(x: f32) -> f32 {
  let whole = trunc(x);
  if (abs(x - whole) == 0.5) { return whole + sign(x); }
  return round(x);
}

/** A finite nonzero f32 as significand · 2^(exponent − 23), the significand's bit 23 set (subnormals normalized). */
struct Unpacked {
  exponent: i32,
  significand: u32,
}

fn unpackFloat(x: f32) -> Unpacked {
  let bits = bitcast<u32>(x);
  let field = (bits >> 23u) & 0xffu;
  let fraction = bits & 0x7fffffu;
  if (field == 0u) {
    let shift = countLeadingZeros(fraction) - 8u;
    return Unpacked(-126 - i32(shift), fraction << shift);
  }
  return Unpacked(i32(field) - 127, fraction | 0x800000u);
}

/**
 * The f32 nearest to bits25 · 2^(exponent − 24) (+ a nonzero remainder below when sticky), ties to even, with
 * `sign`: 24 significant bits and one to round with, subnormal and infinite results included.
 */
fn packRounded(sign: u32, exponentIn: i32, bits25: u32, stickyIn: bool) -> f32 {
  var bits = bits25;
  var sticky = stickyIn;
  var exponent = exponentIn;
  let subnormal = exponent < -126;
  if (subnormal) {
    let shift = u32(min(-126 - exponent, 26));
    sticky = sticky || (bits & ((1u << shift) - 1u)) != 0u;
    bits = bits >> shift;
  }
  var significand = bits >> 1u;
  if ((bits & 1u) == 1u && (sticky || (significand & 1u) == 1u)) { significand += 1u; }
  if (subnormal) { return bitcast<f32>(sign | significand); } // a carry to 2²³ is the smallest normal
  if (significand == 0x1000000u) {
    significand = 0x800000u;
    exponent += 1;
  }
  if (exponent > 127) { return bitcast<f32>(sign | 0x7f800000u); }
  return bitcast<f32>(sign | (u32(exponent + 127) << 23u) | (significand & 0x7fffffu));
}

/** a / b correctly rounded (as C's float division), for finite a and finite nonzero b: long division of the
 * significands, 25 quotient bits and the remainder as the sticky bit. */
fn divideExact(a: f32, b: f32) -> f32 {
  let sign = (bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u;
  if ((bitcast<u32>(a) & 0x7fffffffu) == 0u) { return bitcast<f32>(sign); }
  let x = unpackFloat(a);
  let y = unpackFloat(b);
  var remainder = x.significand;
  var exponent = x.exponent - y.exponent;
  if (remainder < y.significand) {
    remainder = remainder << 1u;
    exponent -= 1;
  }
  var quotient = 0u;
  for (var i = 0u; i < 25u; i++) {
    quotient = quotient << 1u;
    if (remainder >= y.significand) {
      remainder -= y.significand;
      quotient |= 1u;
    }
    remainder = remainder << 1u;
  }
  return packRounded(sign, exponent, quotient, remainder != 0u);
}

/** √x correctly rounded (as C's sqrtf), for finite x ≥ 0: the integer square root of the significand, digit by
 * digit, 25 result bits and the remainder as the sticky bit. */
fn sqrtExact(x: f32) -> f32 {
  if ((bitcast<u32>(x) & 0x7fffffffu) == 0u) { return x; }
  let u = unpackFloat(x);
  // x = significand · 2^(exponent − 23); make the power even so that it halves: x = m · 2^(2k).
  var m = u.significand;
  var power = u.exponent - 23;
  if ((power & 1) != 0) {
    m = m << 1u;
    power -= 1;
  }
  // √x = √(m · 2²⁴) · 2^(k − 12), and √(m · 2²⁴) has 24 or 25 bits: find it bit by bit. The radicand m · 2²⁴ does
  // not fit 32 bits, so it is fed two bits at a time from m (high) and then from zeros (the 24 low bits).
  var root = 0u;
  var remainder = 0u;
  for (var i = 0; i < 25; i++) {
    let shift = 2 * (24 - i) - 24; // bit pair of m · 2²⁴ at positions 2(24 − i) + 1, 2(24 − i)
    var pair = 0u;
    if (shift >= 0) { pair = (m >> u32(shift)) & 3u; }
    remainder = (remainder << 2u) | pair;
    let trial = (root << 2u) | 1u;
    root = root << 1u;
    if (remainder >= trial) {
      remainder -= trial;
      root |= 1u;
    }
  }
  // root = ⌊√(m · 2²⁴)⌋ < 2²⁵. Normalize to 25 bits (24 significant and one to round with), keeping the rest sticky.
  var exponent = power / 2 + 12;
  var bits = root;
  var sticky = remainder != 0u;
  if (bits < 0x1000000u) {
    // 24 bits only: one more result bit from the next radicand digit (the remainder doubled, twice).
    let trial = (root << 2u) | 1u;
    let next = remainder << 2u;
    bits = root << 1u;
    sticky = false;
    if (next >= trial) {
      bits |= 1u;
      sticky = next != trial;
    } else {
      sticky = next != 0u;
    }
    exponent -= 1;
  }
  // bits · 2^(exponent − 24 + …): bits has 25 bits with its top bit at 2^(exponent).
  return packRounded(0u, exponent, bits, sticky);
}

/** Whether 0 is on the type's grid for every scale (so a pruned weight stays exactly 0). */
fn zeroExact(type_: u32) -> bool {
  return type_ != TYPE_Q5_1 && type_ != TYPE_Q4_K && type_ != TYPE_Q5_K;
}

/**
 * The value x becomes in a block of `type_`: the code ggml gives x under the block's scales, dequantized as ggml's
 * dequantize_row_* does. `s` holds the scales of x's (sub-)block: legacy blocks (d, inverse, min, m); Q4_K and
 * Q5_K (d, dmin, sc, m) of x's sub-block of 32; Q6_K (d, sc, −, −) of x's sub-block of 16. A K-quant sub-block
 * whose scale is 0 holds one value whatever its codes (ggml keeps its search's codes there; code 0 here, so a
 * zero may differ from ggml's in its sign).
 */
fn quantizedValue(type_: u32, x: f32, s: vec4<f32>) -> f32 {
  switch type_ {
    case 1u: { // F16
      return toHalf(x);
    }
    case 8u: { // Q8_0: roundf(x · id), value q·d (the code through i32, so that code 0 is +0 as ggml's int is)
      return f32(i32(clamp(roundHalfAway(x * s.y), -128.0, 127.0))) * s.x;
    }
    case 2u: { // Q4_0: (int8_t)(x · id + 8.5), value (q − 8)·d
      return (clamp(trunc(x * s.y + 8.5), 0.0, 15.0) - 8.0) * s.x;
    }
    case 6u: { // Q5_0
      return (clamp(trunc(x * s.y + 16.5), 0.0, 31.0) - 16.0) * s.x;
    }
    case 7u: { // Q5_1: (int8_t)((x − min) · id + 0.5), value q·d + m
      return clamp(trunc((x - s.z) * s.y + 0.5), 0.0, 31.0) * s.x + s.w;
    }
    case 12u, 13u: { // Q4_K, Q5_K: nearest_int((x + dmin·m) / (d·sc)), value d·sc·q − dmin·m
      let step = s.x * s.z;
      let offset = s.y * s.w;
      var q = 0.0;
      if (step != 0.0) {
        q = f32(i32(clamp(nearestInt(divideExact(x + offset, step)), 0.0, select(15.0, 31.0, type_ == 13u))));
      }
      return step * q - offset;
    }
    case 14u: { // Q6_K: nearest_int(x / (d·sc)), value d·sc·(q − 32)
      let step = s.x * s.y;
      var q = 0.0;
      if (step != 0.0) { q = clamp(nearestInt(divideExact(x, step)), -32.0, 31.0) + 32.0; }
      return step * (q - 32.0);
    }
    default: {
      return x;
    }
  }
}

// quant_block_scales.wgsl — the scales of ggml blocks of W, from W's values as they are now: for every row of this
// W part and each of groupCount consecutive blocks from column groupStart, the scale words of a TYPE block
// (ggml_blocks.wgsl, in front of this text, says their layout). The GPTQ walk runs it for one block of columns when
// it reaches the block's first column (so the scales see the weights as the walk has updated them); round-to-
// nearest runs it once for every block of the layer. With SEARCH = 0 the scales follow ggml's rules exactly
// (quantize_row_*_ref: the block's extreme value, the K-quants' weighted searches and their 6- and 8-bit
// sub-block scales), so a block with no error spread onto it is the block llama.cpp's quantizer writes. With
// SEARCH = 1 (Q8_0, Q4_0, Q5_0) the scale is the one of least error Σ ω_c (w_c − q_c)² over ggml's own scale and
// candidates around it, each the weighted least-squares scale of the codes one clipping of the extreme value gives
// (the idea of llama.cpp's make_qx_quants with an importance matrix), stored as ggml stores any scale (fp16);
// ω_c = 1 / U_cc², what the walk's error (w − q) / U_cc costs at column c.
//
// Bindings: 0 W part (read, row stride columns), 1 scales (read_write, [partRows, scaleStride] words: block b of a
//           row at b · scaleWords), 2 U panel (read: U[blockStart + p, :] at row p, stride panelStride; SEARCH only),
//           3 params.
// Dispatch: (x, y, 1) workgroups of 64 covering partRows · groupCount items, index x + y·num_workgroups.x.

override TYPE: u32 = 2u;
override SEARCH: u32 = 0u;

struct Params {
  columns: u32,
  partRows: u32,
  groupStart: u32,
  groupCount: u32,
  scaleStride: u32,
  panelStride: u32,
  blockStart: u32,
}

@group(0) @binding(0) var<storage, read> W: array<f32>;
@group(0) @binding(1) var<storage, read_write> scales: array<f32>;
@group(0) @binding(2) var<storage, read> panel: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

const GROUP_MAX_EPS: f32 = 1e-15;
const FLT_MAX: f32 = 3.40282346638528859812e+38;

/** Per-value weights of the sub-block being searched (K-quants) or of the block (SEARCH). */
var<private> weights: array<f32, 32>;

/** ggml's scale words of a 32-value legacy block at W[base …]: [d, inverse, min, m]. */
fn legacyRule(base: u32) -> vec4<f32> {
  if (TYPE == TYPE_Q5_1) {
    var low = FLT_MAX;
    var high = -FLT_MAX;
    for (var i = 0u; i < 32u; i++) {
      let v = W[base + i];
      if (v < low) { low = v; }
      if (v > high) { high = v; }
    }
    let d = divideExact(high - low, 31.0);
    return vec4(toHalf(d), select(0.0, divideExact(1.0, d), d != 0.0), low, toHalf(low));
  }
  var d = 0.0;
  if (TYPE == TYPE_Q8_0) {
    var amax = 0.0;
    for (var i = 0u; i < 32u; i++) { amax = max(amax, abs(W[base + i])); }
    d = divideExact(amax, 127.0);
  } else {
    // Q4_0, Q5_0: the signed value of largest magnitude (the first on ties) lands on the grid's end.
    var amax = 0.0;
    var extreme = 0.0;
    for (var i = 0u; i < 32u; i++) {
      let v = W[base + i];
      if (amax < abs(v)) {
        amax = abs(v);
        extreme = v;
      }
    }
    d = divideExact(extreme, select(-8.0, -16.0, TYPE == TYPE_Q5_0));
  }
  return vec4(toHalf(d), select(0.0, divideExact(1.0, d), d != 0.0), 0.0, 0.0);
}

/** Σ ω (w − q)² over the block at W[base …] with scale words s. */
fn weightedError(base: u32, s: vec4<f32>) -> f32 {
  var error = 0.0;
  for (var i = 0u; i < 32u; i++) {
    let v = W[base + i];
    let diff = v - quantizedValue(TYPE, v, s);
    error += weights[i] * diff * diff;
  }
  return error;
}

/** SEARCH: the legacy symmetric block's scale of least weighted error, ggml's own scale among the candidates. */
fn searchedRule(base: u32) -> vec4<f32> {
  var best = legacyRule(base);
  var bestError = weightedError(base, best);
  var amax = 0.0;
  var extreme = 0.0;
  for (var i = 0u; i < 32u; i++) {
    let v = W[base + i];
    if (amax < abs(v)) {
      amax = abs(v);
      extreme = v;
    }
  }
  if (amax == 0.0) { return best; }
  // Codes k·d with k in [low, high]; ggml's scale maps the extreme value to `reach`.
  var low = -8.0;
  var high = 7.0;
  var reach = -8.0 / extreme;
  if (TYPE == TYPE_Q5_0) {
    low = -16.0;
    high = 15.0;
    reach = -16.0 / extreme;
  } else if (TYPE == TYPE_Q8_0) {
    low = -128.0;
    high = 127.0;
    reach = 127.0 / amax;
  }
  for (var step = -8; step <= 24; step++) {
    let iscale = reach * (1.0 + 0.0125 * f32(step));
    var sumXL = 0.0;
    var sumL2 = 0.0;
    for (var i = 0u; i < 32u; i++) {
      let v = W[base + i];
      let l = clamp(round(iscale * v), low, high);
      sumXL += weights[i] * v * l;
      sumL2 += weights[i] * l * l;
    }
    if (!(sumL2 > 0.0)) { continue; }
    let d = toHalf(sumXL / sumL2);
    if (d == 0.0) { continue; }
    let candidate = vec4(d, 1.0 / d, 0.0, 0.0);
    let error = weightedError(base, candidate);
    if (error < bestError) {
      bestError = error;
      best = candidate;
    }
  }
  return best;
}

/**
 * make_qkx2_quants: scale and minimum (x ≈ scale·L − min, L in 0 … nmax) of the 32 values at W[base …] that
 * minimize the weighted squared error over nstep + 1 candidate scales; returns (scale, −min ≥ 0).
 */
fn searchScaleAndMin(base: u32, nmax: f32, rmin: f32, rdelta: f32, nstep: i32) -> vec2<f32> {
  var low = W[base];
  var high = W[base];
  var sumW = weights[0];
  var sumX = sumW * W[base];
  for (var i = 1u; i < 32u; i++) {
    let v = W[base + i];
    if (v < low) { low = v; }
    if (v > high) { high = v; }
    sumW = sumW + weights[i];
    sumX = sumX + weights[i] * v;
  }
  if (low > 0.0) { low = 0.0; }
  if (high == low) { return vec2(0.0, -low); }
  var iscale = divideExact(nmax, high - low);
  var scale = divideExact(1.0, iscale);
  var bestError = 0.0;
  for (var i = 0u; i < 32u; i++) {
    let v = W[base + i];
    let l = clamp(nearestInt(iscale * (v - low)), 0.0, nmax);
    let diff = (scale * l + low) - v;
    bestError = bestError + weights[i] * (diff * diff);
  }
  for (var step = 0; step <= nstep; step++) {
    // ggml derives each candidate from the best minimum so far.
    iscale = divideExact((rmin + rdelta * f32(step)) + nmax, high - low);
    var sumL = 0.0;
    var sumL2 = 0.0;
    var sumXL = 0.0;
    for (var i = 0u; i < 32u; i++) {
      let v = W[base + i];
      let l = clamp(nearestInt(iscale * (v - low)), 0.0, nmax);
      let wl = weights[i] * l;
      sumL = sumL + wl;
      sumL2 = sumL2 + wl * l;
      sumXL = sumXL + wl * v;
    }
    let D = sumW * sumL2 - sumL * sumL;
    if (!(D > 0.0)) { continue; }
    var thisScale = divideExact(sumW * sumXL - sumX * sumL, D);
    var thisMin = divideExact(sumL2 * sumX - sumL * sumXL, D);
    if (thisMin > 0.0) {
      thisMin = 0.0;
      thisScale = divideExact(sumXL, sumL2);
    }
    var error = 0.0;
    for (var i = 0u; i < 32u; i++) {
      let v = W[base + i];
      let l = clamp(nearestInt(iscale * (v - low)), 0.0, nmax);
      let diff = (thisScale * l + thisMin) - v;
      error = error + weights[i] * (diff * diff);
    }
    if (error < bestError) {
      bestError = error;
      scale = thisScale;
      low = thisMin;
    }
  }
  return vec2(scale, -low);
}

/** make_qx_quants with rmse_type 1: the symmetric scale of the 16 values at W[base …] (x ≈ scale·(L − nmax)). */
fn sumsAt(base: u32, nmax: f32, iscale: f32) -> vec2<f32> {
  var sumLX = 0.0;
  var sumL2 = 0.0;
  for (var i = 0u; i < 16u; i++) {
    let v = W[base + i];
    let l = clamp(nearestInt(iscale * v), -nmax, nmax - 1.0);
    let w = v * v;
    sumLX = sumLX + (w * v) * l;
    sumL2 = sumL2 + (w * l) * l;
  }
  return vec2(sumLX, sumL2);
}

fn searchSymmetricScale(base: u32, nmax: f32) -> f32 {
  var extreme = 0.0;
  var amax = 0.0;
  for (var i = 0u; i < 16u; i++) {
    let v = W[base + i];
    if (abs(v) > amax) {
      amax = abs(v);
      extreme = v;
    }
  }
  if (amax < GROUP_MAX_EPS) { return 0.0; }
  var sums = sumsAt(base, nmax, divideExact(-nmax, extreme));
  var scale = 0.0;
  if (sums.y != 0.0) { scale = divideExact(sums.x, sums.y); }
  var best = scale * sums.x;
  for (var step = -9; step <= 9; step++) {
    if (step == 0) { continue; }
    sums = sumsAt(base, nmax, divideExact(-(nmax + 0.1 * f32(step)), extreme));
    if (sums.y > 0.0 && sums.x * sums.x > best * sums.y) {
      scale = divideExact(sums.x, sums.y);
      best = scale * sums.x;
    }
  }
  return scale;
}

/** Q4_K, Q5_K: eight sub-blocks' searched scales and minimums, quantized to 6 bits under two fp16 super-scales. */
fn scaleMinBlock(base: u32, out: u32) {
  let five = TYPE == TYPE_Q5_K;
  var subScales: array<f32, 8>;
  var subMins: array<f32, 8>;
  var maxScale = 0.0;
  var maxMin = 0.0;
  for (var j = 0u; j < 8u; j++) {
    let at = base + 32u * j;
    var sumX2 = 0.0;
    for (var l = 0u; l < 32u; l++) { sumX2 = sumX2 + W[at + l] * W[at + l]; }
    let average = sqrtExact(divideExact(sumX2, 32.0));
    for (var l = 0u; l < 32u; l++) { weights[l] = average + abs(W[at + l]); }
    let found = searchScaleAndMin(at, select(15.0, 31.0, five), select(-1.0, -0.5, five), 0.1, select(20, 15, five));
    subScales[j] = found.x;
    subMins[j] = found.y;
    if (found.x > maxScale) { maxScale = found.x; }
    if (found.y > maxMin) { maxMin = found.y; }
  }
  let inverseScale = select(0.0, divideExact(63.0, maxScale), maxScale > 0.0);
  let inverseMin = select(0.0, divideExact(63.0, maxMin), maxMin > 0.0);
  scales[out] = toHalf(divideExact(maxScale, 63.0));
  scales[out + 1u] = toHalf(divideExact(maxMin, 63.0));
  for (var j = 0u; j < 8u; j++) {
    // ggml keeps nearest_int's result in a uint8_t, then caps it at 63.
    let sc = min(63u, u32(i32(nearestInt(inverseScale * subScales[j]))) & 255u);
    let m = min(63u, u32(i32(nearestInt(inverseMin * subMins[j]))) & 255u);
    scales[out + 2u + j] = f32(sc);
    scales[out + 10u + j] = f32(m);
  }
}

/** Q6_K: sixteen sub-blocks' symmetric scales, quantized to signed 8 bits under one fp16 super-scale. */
fn symmetricBlock(base: u32, out: u32) {
  var subScales: array<f32, 16>;
  var maxScale = 0.0;
  var maxAbsScale = 0.0;
  for (var j = 0u; j < 16u; j++) {
    subScales[j] = searchSymmetricScale(base + 16u * j, 32.0);
    if (abs(subScales[j]) > maxAbsScale) {
      maxAbsScale = abs(subScales[j]);
      maxScale = subScales[j];
    }
  }
  for (var k = 0u; k < 18u; k++) { scales[out + k] = 0.0; }
  if (maxAbsScale < GROUP_MAX_EPS) { return; } // ggml zeroes the whole block
  let iscale = divideExact(-128.0, maxScale);
  scales[out] = toHalf(divideExact(1.0, iscale));
  for (var j = 0u; j < 16u; j++) {
    // min(127, ·) then stored as int8_t: wraps like C's conversion.
    let code = min(127, i32(nearestInt(iscale * subScales[j])));
    scales[out + 1u + j] = f32(bitcast<i32>(bitcast<u32>(code) << 24u) >> 24u);
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let index = (wid.x + wid.y * groups.x) * 64u + t;
  if (index >= params.partRows * params.groupCount) { return; }
  let row = index / params.groupCount;
  let block = params.groupStart / blockColumns(TYPE) + index % params.groupCount;
  let column0 = block * blockColumns(TYPE);
  let base = row * params.columns + column0;
  let out = row * params.scaleStride + block * scaleWords(TYPE);
  if (TYPE == TYPE_Q4_K || TYPE == TYPE_Q5_K) {
    scaleMinBlock(base, out);
    return;
  }
  if (TYPE == TYPE_Q6_K) {
    symmetricBlock(base, out);
    return;
  }
  var words: vec4<f32>;
  if (SEARCH == 1u && TYPE != TYPE_Q5_1) {
    for (var i = 0u; i < 32u; i++) {
      let c = column0 + i;
      let u = panel[(c - params.blockStart) * params.panelStride + c];
      weights[i] = 1.0 / (u * u);
    }
    words = searchedRule(base);
  } else {
    words = legacyRule(base);
  }
  for (var k = 0u; k < scaleWords(TYPE); k++) { scales[out + k] = words[k]; }
}

// prune_block_walk.wgsl — SparseGPT's column walk over one block of Bs columns (Algorithm 1, inner loop), which can
// also quantize (GPTQ, jointly with the mask): for each column i: q = w masked to 0, or kept and (with QUANT) turned
// into its value on the ggml grid of the column's block (ggml_blocks.wgsl, in front of this text), err = (w − q) /
// U_ii, then w[:, i+1:] −= err · U[i, i+1:] within the block; err is saved for the lazy batch update of the columns
// after the block (lazy_batch_update.wgsl). A quantized block's scales come from quant_block_scales.wgsl, which the
// host runs when the walk reaches the block's first column: the host then walks the block's columns
// [walkStart, walkEnd) of this block of Bs, and the errors still reach every later column of the Bs.
// With SPREAD = 0 the walk only rounds (round-to-nearest: no error, no update, U unread).
// Rows are independent: each invocation walks RPI rows of this W part. The walk runs SUB columns at a time in
// registers; once those SUB errors are known they are applied to the rest of the block in one sweep, four columns
// per vec4 U load where the panel's columns line up. Mathematically identical to the eager update. U is read
// straight from the panel: every invocation of a workgroup reads the same U value at the same time (a broadcast
// from cache on a GPU), so staging it in workgroup memory would only add barriers, which a CPU-backed adapter pays
// dearly for. An invocation owns RPI rows, held together as `Rows` (f32 for one row, vec4 for four, one row per
// lane): 1 on a GPU, where the walk wants every row in flight, and 4 on a CPU-backed adapter, where each U load then
// serves four rows' FMAs as one vec4 operation (the host picks the variant).
// Masks: pattern 0 (unstructured) — the block-wide threshold from radix select on w²/U_jj² taken at block start,
// mask = value ≤ threshold as the reference does; it is evaluated for the whole block first (by the dispatch with
// walkStart 0) and parked in Err. Pattern 1 (N:M) — when the walk reaches the first column of a group of M it marks
// the N smallest w²/U_jj² of the group, using the weights as updated so far (ties go to the lower column).
// Pattern 2 — no mask (quantization only). Pattern 3 — a fixed mask (a baseline's zeros, zero_mask_bits.wgsl),
// parked in Err like pattern 0's. A pruned weight is exactly 0, or, in a type whose grid has no 0 (Q4_K,
// Q5_K, Q5_1), the value nearest 0.
//
// Bindings: 0 W part (read_write, row stride columns), 1 U panel (read, vec4: U[blockStart + p, :] at row p,
//           stride panelStride, a multiple of 4; rows p ≥ blockCount up to a multiple of SUB are finite padding),
//           2 Err (read_write, [partRows, errStride]), 3 state (read: [0] threshold bits), 4 params,
//           5 scales (read, [partRows, scaleStride] words as quant_block_scales.wgsl writes them; QUANT only),
//           6 mask bits (read, u32 [partRows, maskStride], bit c % 32 of word c / 32 set where column c is pruned;
//           pattern 3 only).
// Dispatch: (ceil(partRows / (ROWS · RPI)), 1, 1) workgroups of ROWS.

override ROWS: u32 = 64u;
override SUB: u32 = 16u;
override PATTERN: u32 = 0u;
override PRUNE_N: u32 = 2u;
override PRUNE_M: u32 = 4u;
override QUANT: u32 = 0u;
override SPREAD: u32 = 1u;
const MAX_SUB: u32 = 32u;
//#if FOUR_ROWS
const RPI: u32 = 4u;
alias Rows = vec4<f32>;
alias RowMasks = vec4<u32>;
fn lane(v: Rows, r: u32) -> f32 { return v[r]; }
fn withLane(v: Rows, r: u32, x: f32) -> Rows {
  var out = v;
  out[r] = x;
  return out;
}
fn maskLane(v: RowMasks, r: u32) -> u32 { return v[r]; }
fn withMaskLane(v: RowMasks, r: u32, x: u32) -> RowMasks {
  var out = v;
  out[r] = x;
  return out;
}
//#else
const RPI: u32 = 1u;
alias Rows = f32;
alias RowMasks = u32;
fn lane(v: Rows, r: u32) -> f32 { return v; }
fn withLane(v: Rows, r: u32, x: f32) -> Rows { return x; }
fn maskLane(v: RowMasks, r: u32) -> u32 { return v; }
fn withMaskLane(v: RowMasks, r: u32, x: u32) -> RowMasks { return x; }
//#endif

struct Params {
  columns: u32,
  partRows: u32,
  blockStart: u32,
  blockCount: u32,
  errStride: u32,
  panelStride: u32,
  walkStart: u32,
  walkEnd: u32,
  scaleStride: u32,
  maskStride: u32,
}

@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<storage, read> U4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Err: array<f32>;
@group(0) @binding(3) var<storage, read> state: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;
@group(0) @binding(5) var<storage, read> scales: array<f32>;
@group(0) @binding(6) var<storage, read> maskBits: array<u32>;

/** U[blockStart + p, blockStart + c]: row p of the panel, column c of the block. */
fn blockU(p: u32, c: u32) -> f32 {
  let index = p * params.panelStride + params.blockStart + c;
  return U4[index / 4u][index % 4u];
}

fn metric(w: f32, d: f32) -> f32 {
  return (w * w) / (d * d);
}

/** The scale words of absolute column `column`'s (sub-)block in row `row` of the part, as quantizedValue takes them. */
fn columnScales(row: u32, column: u32) -> vec4<f32> {
  let base = row * params.scaleStride + (column / blockColumns(QUANT)) * scaleWords(QUANT);
  let within = column % blockColumns(QUANT);
  if (QUANT == TYPE_Q4_K || QUANT == TYPE_Q5_K) {
    let j = within / 32u;
    return vec4(scales[base], scales[base + 1u], scales[base + 2u + j], scales[base + 10u + j]);
  }
  if (QUANT == TYPE_Q6_K) { return vec4(scales[base], scales[base + 1u + within / 16u], 0.0, 0.0); }
  if (QUANT == TYPE_Q5_1) { return vec4(scales[base], scales[base + 1u], scales[base + 2u], scales[base + 3u]); }
  return vec4(scales[base], scales[base + 1u], 0.0, 0.0);
}

/** What column c's weight x of row `row` becomes: 0 when pruned, else x on the column's grid (x without QUANT). */
fn kept(x: f32, pruned: bool, row: u32, c: u32) -> f32 {
  if (QUANT == TYPE_NONE) { return select(x, 0.0, pruned); }
  var s = vec4<f32>();
  if (QUANT != TYPE_F16) { s = columnScales(row, params.blockStart + c); }
  if (pruned) { return select(quantizedValue(QUANT, 0.0, s), 0.0, zeroExact(QUANT)); }
  return quantizedValue(QUANT, x, s);
}

fn wIndex(row: u32, c: u32) -> u32 {
  return row * params.columns + params.blockStart + c;
}

/** Bit g set for the N columns to prune of row lane r's group at block column c (registers p .. p + M). */
fn groupMask(w: ptr<function, array<Rows, MAX_SUB>>, p: u32, c: u32, r: u32) -> u32 {
  var mask = 0u;
  for (var g = 0u; g < PRUNE_M; g++) {
    let mg = metric(lane((*w)[p + g], r), blockU(c + g, c + g));
    var rank = 0u;
    for (var h = 0u; h < PRUNE_M; h++) {
      let mh = metric(lane((*w)[p + h], r), blockU(c + h, c + h));
      if (mh < mg || (mh == mg && h < g)) { rank++; }
    }
    if (rank < PRUNE_N) { mask |= 1u << g; }
  }
  return mask;
}

@compute @workgroup_size(ROWS)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row0 = gid.x * RPI;
  if (row0 >= params.partRows) { return; }
  let rowCount = min(RPI, params.partRows - row0);
  let count = params.blockCount;

  if ((PATTERN == 0u || PATTERN == 3u) && params.walkStart == 0u) {
    let threshold = state[0];
    for (var r = 0u; r < rowCount; r++) {
      for (var c = 0u; c < count; c++) {
        var pruned = false;
        if (PATTERN == 0u) {
          pruned = bitcast<u32>(metric(W[wIndex(row0 + r, c)], blockU(c, c))) <= threshold;
        } else {
          let column = params.blockStart + c;
          pruned = ((maskBits[(row0 + r) * params.maskStride + column / 32u] >> (column % 32u)) & 1u) != 0u;
        }
        Err[(row0 + r) * params.errStride + c] = select(0.0, 1.0, pruned);
      }
    }
  }

  var mask = RowMasks();
  for (var s = params.walkStart; s < params.walkEnd; s += SUB) {
    let sub = min(SUB, params.walkEnd - s);
    // Weights and errors of the sub-block, zero for lanes past the part and p ≥ sub. (Every variable declared in
    // a loop gets an explicit initializer: SwiftShader was seen to keep an array's previous values without one.)
    var w = array<Rows, MAX_SUB>();
    var e = array<Rows, MAX_SUB>();
    for (var p = 0u; p < sub; p++) {
      var v = Rows();
      for (var r = 0u; r < rowCount; r++) { v = withLane(v, r, W[wIndex(row0 + r, s + p)]); }
      w[p] = v;
    }
    for (var p = 0u; p < sub; p++) {
      let c = s + p;
      let inGroup = (params.blockStart + c) % PRUNE_M;
      var q = w[p];
      for (var r = 0u; r < rowCount; r++) {
        var pruned = false;
        if (PATTERN == 0u || PATTERN == 3u) {
          pruned = Err[(row0 + r) * params.errStride + c] != 0.0;
        } else if (PATTERN == 1u) {
          if (inGroup == 0u) { mask = withMaskLane(mask, r, groupMask(&w, p, c, r)); }
          pruned = ((maskLane(mask, r) >> inGroup) & 1u) != 0u;
        }
        q = withLane(q, r, kept(lane(w[p], r), pruned, row0 + r, c));
      }
      if (SPREAD == 0u) {
        for (var r = 0u; r < rowCount; r++) { W[wIndex(row0 + r, c)] = lane(q, r); }
        continue;
      }
      let err = (w[p] - q) / blockU(c, c);
      e[p] = err;
      for (var r = 0u; r < rowCount; r++) {
        W[wIndex(row0 + r, c)] = lane(q, r);
        Err[(row0 + r) * params.errStride + c] = lane(err, r);
      }
      for (var t = p + 1u; t < sub; t++) { w[t] -= err * blockU(c, s + t); }
    }
    if (SPREAD == 0u) { continue; }
    // The rest of the block takes the sub-block's errors in one sweep, four columns per U load where the panel's
    // columns line up with vec4s (e is zero past sub, so the loops can run the constant SUB).
    var x = s + sub;
    for (; x < count && (params.blockStart + x) % 4u != 0u; x++) {
      var delta = Rows();
      for (var p = 0u; p < SUB; p++) { delta += e[p] * blockU(s + p, x); }
      for (var r = 0u; r < rowCount; r++) { W[wIndex(row0 + r, x)] -= lane(delta, r); }
    }
    for (; x + 4u <= count; x += 4u) {
      var delta0 = Rows();
      var delta1 = Rows();
      var delta2 = Rows();
      var delta3 = Rows();
      let column4 = (params.blockStart + x) / 4u;
      for (var p = 0u; p < SUB; p++) {
        let u = U4[(s + p) * (params.panelStride / 4u) + column4];
        delta0 += e[p] * u.x;
        delta1 += e[p] * u.y;
        delta2 += e[p] * u.z;
        delta3 += e[p] * u.w;
      }
      for (var r = 0u; r < rowCount; r++) {
        let base = wIndex(row0 + r, x);
        W[base] -= lane(delta0, r);
        W[base + 1u] -= lane(delta1, r);
        W[base + 2u] -= lane(delta2, r);
        W[base + 3u] -= lane(delta3, r);
      }
    }
    for (; x < count; x++) {
      var delta = Rows();
      for (var p = 0u; p < SUB; p++) { delta += e[p] * blockU(s + p, x); }
      for (var r = 0u; r < rowCount; r++) { W[wIndex(row0 + r, x)] -= lane(delta, r); }
    }
  }
}

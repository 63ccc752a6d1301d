// prune_block_walk.wgsl — SparseGPT's column walk over one block of Bs columns (Algorithm 1, inner loop):
// for each column i: q = w masked to 0 or kept, err = (w − q) / U_ii, then w[:, i+1:] −= err · U[i, i+1:] within
// the block; err is saved for the lazy batch update of the columns after the block (lazy_batch_update.wgsl).
// Rows are independent: one invocation per row of this W chunk. The walk runs SUB columns at a time in registers;
// once those SUB errors are known they are applied to the rest of the block in one sweep. Mathematically identical
// to the eager update. U is read straight from the panel: every invocation of a workgroup reads the same U value at
// the same time (a broadcast from cache on a GPU), so staging it in workgroup memory would only add barriers,
// which a CPU-backed adapter pays dearly for.
// Masks: pattern 0 (unstructured) — the block-wide threshold from radix select on w²/U_jj² taken at block start,
// mask = value ≤ threshold as the reference does; it is evaluated for the whole block first and parked in Err.
// Pattern 1 (N:M) — when the walk reaches the first column of a group of M it marks the N smallest w²/U_jj² of
// the group, using the weights as updated so far (ties go to the lower column).
//
// Bindings: 0 W chunk (read_write, row stride columns), 1 U panel (read: U[blockStart + p, :] at row p, stride
//           panelStride, a multiple of 4; rows p ≥ blockCount up to a multiple of SUB are finite padding),
//           2 Err (read_write, [chunkRows, errStride]), 3 state (read: [0] threshold bits), 4 params,
//           5 the U panel again, as vec4.
// Dispatch: (ceil(chunkRows / ROWS), 1, 1) workgroups of ROWS.

override ROWS: u32 = 64u;
override SUB: u32 = 16u;
override PATTERN: u32 = 0u;
override PRUNE_N: u32 = 2u;
override PRUNE_M: u32 = 4u;
const MAX_SUB: u32 = 32u;

struct Params {
  columns: u32,
  chunkRows: u32,
  blockStart: u32,
  blockCount: u32,
  errStride: u32,
  panelStride: u32,
}

@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<storage, read_write> Err: array<f32>;
@group(0) @binding(3) var<storage, read> state: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;
@group(0) @binding(5) var<storage, read> U4: array<vec4<f32>>;

/** U[blockStart + p, blockStart + c]: row p of the panel, column c of the block. */
fn blockU(p: u32, c: u32) -> f32 {
  return U[p * params.panelStride + params.blockStart + c];
}

fn metric(w: f32, d: f32) -> f32 {
  return (w * w) / (d * d);
}

/** Bit g set for the N columns of the group starting at block column c (registers p..p+M) to prune. */
fn groupMask(w: ptr<function, array<f32, MAX_SUB>>, p: u32, c: u32) -> u32 {
  var mask = 0u;
  for (var g = 0u; g < PRUNE_M; g++) {
    let mg = metric((*w)[p + g], blockU(c + g, c + g));
    var rank = 0u;
    for (var h = 0u; h < PRUNE_M; h++) {
      let mh = metric((*w)[p + h], blockU(c + h, c + h));
      if (mh < mg || (mh == mg && h < g)) { rank++; }
    }
    if (rank < PRUNE_N) { mask |= 1u << g; }
  }
  return mask;
}

@compute @workgroup_size(ROWS)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= params.chunkRows) { return; }
  let rowBase = row * params.columns + params.blockStart;
  let errBase = row * params.errStride;
  let count = params.blockCount;

  if (PATTERN == 0u) {
    let threshold = state[0];
    for (var c = 0u; c < count; c++) {
      let pruned = bitcast<u32>(metric(W[rowBase + c], blockU(c, c))) <= threshold;
      Err[errBase + c] = select(0.0, 1.0, pruned);
    }
  }

  var mask = 0u;
  for (var s = 0u; s < count; s += SUB) {
    let sub = min(SUB, count - s);
    var w: array<f32, MAX_SUB>;
    var e: array<f32, MAX_SUB>;
    for (var p = 0u; p < SUB; p++) {
      w[p] = 0.0;
      e[p] = 0.0;
      if (p < sub) { w[p] = W[rowBase + s + p]; }
    }
    for (var p = 0u; p < sub; p++) {
      let c = s + p;
      var pruned = false;
      if (PATTERN == 0u) {
        pruned = Err[errBase + c] != 0.0;
      } else {
        let inGroup = (params.blockStart + c) % PRUNE_M;
        if (inGroup == 0u) { mask = groupMask(&w, p, c); }
        pruned = ((mask >> inGroup) & 1u) != 0u;
      }
      let q = select(w[p], 0.0, pruned);
      let err = (w[p] - q) / blockU(c, c);
      for (var t = p + 1u; t < sub; t++) { w[t] -= err * blockU(c, s + t); }
      e[p] = err;
      W[rowBase + c] = q;
      Err[errBase + c] = err;
    }
    // The rest of the block takes the sub-block's errors in one sweep, four columns per U load where the panel's
    // columns line up with vec4s (e[p] is zero past sub, so the loops can run the constant SUB).
    var x = s + sub;
    for (; x < count && (params.blockStart + x) % 4u != 0u; x++) {
      var delta = 0.0;
      for (var p = 0u; p < SUB; p++) { delta += e[p] * blockU(s + p, x); }
      W[rowBase + x] -= delta;
    }
    for (; x + 4u <= count; x += 4u) {
      var delta = vec4<f32>();
      let column4 = (params.blockStart + x) / 4u;
      for (var p = 0u; p < SUB; p++) { delta += e[p] * U4[(s + p) * (params.panelStride / 4u) + column4]; }
      for (var i = 0u; i < 4u; i++) { W[rowBase + x + i] -= delta[i]; }
    }
    for (; x < count; x++) {
      var delta = 0.0;
      for (var p = 0u; p < SUB; p++) { delta += e[p] * blockU(s + p, x); }
      W[rowBase + x] -= delta;
    }
  }
}

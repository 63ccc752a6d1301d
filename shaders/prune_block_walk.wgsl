// prune_block_walk.wgsl — SparseGPT's column walk over one block of Bs columns (Algorithm 1, inner loop):
// for each column i: q = w masked to 0 or kept, err = (w − q) / U_ii, then w[:, i+1:] −= err · U[i, i+1:] within
// the block; err is saved for the lazy batch update of the columns after the block (lazy_batch_update.wgsl).
// Rows are independent: one invocation per row of this W chunk. The walk runs SUB columns at a time in registers;
// once those SUB errors are known they are applied to the rest of the block in one sweep, reading U rows from
// workgroup memory in tiles of SUB × (2048 / SUB) floats (8 KiB). Mathematically identical to the eager update.
// Masks: pattern 0 (unstructured) — the block-wide threshold from radix select on w²/U_jj² taken at block start,
// mask = value ≤ threshold as the reference does; it is evaluated for the whole block first and parked in Err.
// Pattern 1 (N:M) — when the walk reaches the first column of a group of M it marks the N smallest w²/U_jj² of
// the group, using the weights as updated so far (ties go to the lower column).
//
// Bindings: 0 W chunk (read_write, row stride columns), 1 U panel (read: U[blockStart + p, :] at row p, stride
//           columns), 2 Err (read_write, [chunkRows, errStride]), 3 state (read: [0] threshold bits), 4 params.
// Dispatch: (ceil(chunkRows / ROWS), 1, 1) workgroups of ROWS.

override ROWS: u32 = 64u;
override SUB: u32 = 16u;
override PATTERN: u32 = 0u;
override PRUNE_N: u32 = 2u;
override PRUNE_M: u32 = 4u;
const MAX_SUB: u32 = 32u;
const TILE_FLOATS: u32 = 2048u;

struct Params {
  columns: u32,
  chunkRows: u32,
  blockStart: u32,
  blockCount: u32,
  errStride: u32,
}

@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<storage, read_write> Err: array<f32>;
@group(0) @binding(3) var<storage, read> state: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> uTile: array<f32, TILE_FLOATS>;

fn blockDiagonal(p: u32) -> f32 {
  return U[p * params.columns + params.blockStart + p];
}

@compute @workgroup_size(ROWS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let row = wid.x * ROWS + lane;
  let rowInChunk = row < params.chunkRows;
  let rowBase = row * params.columns + params.blockStart;
  let errBase = row * params.errStride;
  let count = params.blockCount;
  let tileWidth = TILE_FLOATS / SUB;

  if (PATTERN == 0u && rowInChunk) {
    let threshold = state[0];
    for (var c = 0u; c < count; c++) {
      let w = W[rowBase + c];
      let d = blockDiagonal(c);
      Err[errBase + c] = select(0.0, 1.0, bitcast<u32>((w * w) / (d * d)) <= threshold);
    }
  }

  for (var s = 0u; s < count; s += SUB) {
    let sub = min(SUB, count - s);
    var w: array<f32, MAX_SUB>;
    var e: array<f32, MAX_SUB>;
    if (rowInChunk) {
      for (var p = 0u; p < SUB; p++) {
        if (p < sub) { w[p] = W[rowBase + s + p]; }
      }
    }
    for (var c0 = s; c0 < count; c0 += tileWidth) {
      let width = min(tileWidth, count - c0);
      workgroupBarrier();
      for (var idx = lane; idx < SUB * tileWidth; idx += ROWS) {
        let p = idx / tileWidth;
        let x = idx % tileWidth;
        var value = 0.0;
        if (p < sub && x < width) { value = U[(s + p) * params.columns + params.blockStart + c0 + x]; }
        uTile[idx] = value;
      }
      workgroupBarrier();
      if (rowInChunk) {
        var first = 0u;
        if (c0 == s) {
          first = SUB;
          var groupMask = 0u;
          for (var p = 0u; p < SUB; p++) {
            if (p >= sub) {
              e[p] = 0.0;
              continue;
            }
            let d = uTile[p * tileWidth + p];
            var pruned = false;
            if (PATTERN == 0u) {
              pruned = Err[errBase + s + p] != 0.0;
            } else {
              let inGroup = (params.blockStart + s + p) % PRUNE_M;
              if (inGroup == 0u) {
                groupMask = 0u;
                for (var g = 0u; g < PRUNE_M; g++) {
                  let dg = uTile[(p + g) * tileWidth + p + g];
                  let mg = (w[p + g] * w[p + g]) / (dg * dg);
                  var rank = 0u;
                  for (var h = 0u; h < PRUNE_M; h++) {
                    let dh = uTile[(p + h) * tileWidth + p + h];
                    let mh = (w[p + h] * w[p + h]) / (dh * dh);
                    if (mh < mg || (mh == mg && h < g)) { rank++; }
                  }
                  if (rank < PRUNE_N) { groupMask |= 1u << g; }
                }
              }
              pruned = ((groupMask >> inGroup) & 1u) != 0u;
            }
            let q = select(w[p], 0.0, pruned);
            let err = (w[p] - q) / d;
            for (var t = p + 1u; t < SUB; t++) { w[t] -= err * uTile[p * tileWidth + t]; }
            e[p] = err;
            W[rowBase + s + p] = q;
            Err[errBase + s + p] = err;
          }
        }
        for (var x = first; x < width; x++) {
          var delta = 0.0;
          for (var p = 0u; p < SUB; p++) { delta += e[p] * uTile[p * tileWidth + x]; }
          W[rowBase + c0 + x] -= delta;
        }
      }
    }
  }
}

// triangular_inverse_panel.wgsl — one 64-column block of U = R⁻¹ above the diagonal, in place:
//   U[i, block] = −Σ_{l ≥ i} U[i, l] · Q[l, :]   for rows i < blockStart, with Q = R[0:blockStart, block]·U_kk.
// Columns left of the block already hold U (blocks are done left to right) and the block's own column strip still
// holds R, already folded into Q, so the in-place write is safe. U is upper triangular and zero below the
// diagonal, so each invocation starts its sum at its own first row: the FLOPs are those of a triangular product.
// Q is one buffer, or split into the same parts as A where it does not fit one binding: a dispatch sums the l
// of one range of Q rows within one buffer, the first one writing −sum and the later ones subtracting theirs. Register-tiled like matmul.wgsl (4 rows × one vec4 of columns per invocation,
// Q read as vec4 rows, U as vec4 where A's row stride is a multiple of 4 (VEC4_ROWS, chosen by the host) and as
// scalars otherwise), with no workgroup memory or barriers.
//
// Bindings: 0 A part holding rows i (read_write, row stride columns), 1 Q (read, vec4 rows of 16; global row
//           qFirst + l at qOffset + l), 2 params.
// Dispatch: (2, ceil(rowsAbove / 32), 1) workgroups of 8×8, rowsAbove = the A part's rows with index < blockStart.

struct Params {
  columns: u32,
  rowFirst: u32,
  rowsAbove: u32,
  qFirst: u32,
  qRows: u32,
  qOffset: u32,
  blockStart: u32,
  blockSize: u32,
  accumulate: u32,
}

//#if VEC4_ROWS
@group(0) @binding(0) var<storage, read_write> A: array<vec4<f32>>;
fn loadA4(index: u32) -> vec4<f32> { return A[index / 4u]; }
fn storeA(index: u32, value: f32) { A[index / 4u][index % 4u] = value; }
fn loadA(index: u32) -> f32 { return A[index / 4u][index % 4u]; }
//#else
@group(0) @binding(0) var<storage, read_write> A: array<f32>;
fn loadA4(index: u32) -> vec4<f32> { return vec4<f32>(A[index], A[index + 1u], A[index + 2u], A[index + 3u]); }
fn storeA(index: u32, value: f32) { A[index] = value; }
fn loadA(index: u32) -> f32 { return A[index]; }
//#endif
@group(0) @binding(1) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

// U[i, l .. l + 3] for global columns l of this Q part (l a multiple of 4, as the part's first row is); zero
// past its rows (Q is not read there).
fn loadU4(row: u32, l: u32) -> vec4<f32> {
  let end = params.qFirst + params.qRows;
  if (l >= end) { return vec4<f32>(); }
  let value = loadA4(row * params.columns + l);
  if (l + 4u <= end) { return value; }
  return select(vec4<f32>(), value, vec4<u32>(l, l + 1u, l + 2u, l + 3u) < vec4<u32>(end));
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c4 = gid.x;
  let i0 = gid.y * 4u;
  if (c4 >= 16u || i0 >= params.rowsAbove) { return; }
  var rows: array<u32, 4>;
  for (var r = 0u; r < 4u; r++) { rows[r] = min(i0 + r, params.rowsAbove - 1u); }
  // U is zero left of the diagonal: start at this invocation's first global row, in whole vec4 steps of Q rows.
  let firstGlobal = params.rowFirst + i0;
  var l0 = 0u;
  if (firstGlobal > params.qFirst) { l0 = (firstGlobal - params.qFirst) / 4u * 4u; }
  var acc: array<vec4<f32>, 4>;
  let last = params.qRows - 1u;
  for (var l = l0; l < params.qRows; l += 4u) {
    let b0 = Q[(params.qOffset + min(l + 0u, last)) * 16u + c4];
    let b1 = Q[(params.qOffset + min(l + 1u, last)) * 16u + c4];
    let b2 = Q[(params.qOffset + min(l + 2u, last)) * 16u + c4];
    let b3 = Q[(params.qOffset + min(l + 3u, last)) * 16u + c4];
    let g = params.qFirst + l;
    for (var r = 0u; r < 4u; r++) {
      let a = loadU4(rows[r], g);
      acc[r] += a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
    }
  }
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + r;
    if (i >= params.rowsAbove) { break; }
    for (var e = 0u; e < 4u; e++) {
      let c = c4 * 4u + e;
      if (c >= params.blockSize) { continue; }
      let index = i * params.columns + params.blockStart + c;
      var value = -acc[r][e];
      if (params.accumulate != 0u) { value += loadA(index); }
      storeA(index, value);
    }
  }
}

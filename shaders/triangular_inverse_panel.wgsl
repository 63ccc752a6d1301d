// triangular_inverse_panel.wgsl — one 64-column block of U = R⁻¹ above the diagonal, in place:
//   U[i, block] = −Σ_{l ≥ i} U[i, l] · Q[l, :]   for rows i < blockStart, with Q = R[0:blockStart, block]·U_kk.
// Columns left of the block already hold U (blocks are done left to right) and the block's own column strip still
// holds R, already folded into Q, so the in-place write is safe. U is upper triangular and zero below the
// diagonal, so each invocation starts its sum at its own first row: the FLOPs are those of a triangular product.
// Q is split into the same row chunks as A: a dispatch sums the l of one Q chunk, the first one writing −sum and
// the later ones subtracting theirs. Register-tiled like matmul.wgsl (4 rows × one vec4 of columns per invocation,
// U read as scalars, Q as vec4 rows), with no workgroup memory or barriers.
//
// Bindings: 0 A chunk holding rows i (read_write, row stride columns), 1 Q rows of one chunk (read, vec4
//           [chunk rows, 16]), 2 params.
// Dispatch: (2, ceil(rowsAbove / 32), 1) workgroups of 8×8, rowsAbove = the A chunk's rows with index < blockStart.

struct Params {
  columns: u32,
  rowFirst: u32,
  rowsAbove: u32,
  qFirst: u32,
  qRows: u32,
  blockStart: u32,
  blockSize: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read> Q: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

// U[i, l] for a global column l of this Q chunk; zero past its rows (Q is not read there).
fn loadU(row: u32, l: u32) -> f32 {
  if (l >= params.qFirst + params.qRows) { return 0.0; }
  return A[row * params.columns + l];
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
    let b0 = Q[min(l + 0u, last) * 16u + c4];
    let b1 = Q[min(l + 1u, last) * 16u + c4];
    let b2 = Q[min(l + 2u, last) * 16u + c4];
    let b3 = Q[min(l + 3u, last) * 16u + c4];
    let g = params.qFirst + l;
    for (var r = 0u; r < 4u; r++) {
      let a = vec4<f32>(loadU(rows[r], g), loadU(rows[r], g + 1u), loadU(rows[r], g + 2u), loadU(rows[r], g + 3u));
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
      if (params.accumulate != 0u) { A[index] -= acc[r][e]; } else { A[index] = -acc[r][e]; }
    }
  }
}

// triangular_inverse_panel.wgsl — one 64-column block of U = R⁻¹ above the diagonal, in place:
//   U[i, block] = −Σ_{l ≥ i} U[i, l] · Q[l, :]   for rows i < blockStart, with Q = R[0:blockStart, block]·U_kk.
// Columns left of the block already hold U (blocks are done left to right) and the block's own column strip still
// holds R, already folded into Q, so the in-place write is safe. U is upper triangular and zero below the
// diagonal, so each row tile starts its K loop at its own first row: the FLOPs are those of a triangular product.
//
// Bindings: 0 A chunk (read_write, row stride columns), 1 Q (read, dense [blockStart, 64]), 2 params.
// Dispatch: (1, ceil(rowsAbove / 64), 1) workgroups of 16×16.

struct Params {
  columns: u32,
  firstRow: u32,
  rowsAbove: u32,
  blockStart: u32,
  blockSize: u32,
}

@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> tileA: array<vec4<f32>, 256>;
var<workgroup> tileB: array<vec4<f32>, 256>;

fn loadU(localRow: u32, l: u32) -> f32 {
  if (localRow >= params.rowsAbove || l >= params.blockStart) { return 0.0; }
  return A[localRow * params.columns + l];
}

fn loadQ(l: u32, c: u32) -> f32 {
  if (l >= params.blockStart || c >= params.blockSize) { return 0.0; }
  return Q[l * 64u + c];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let localRow0 = wid.y * 64u;
  let t = lid.y * 16u + lid.x;
  let aRow = t / 4u;
  let aQuad = t % 4u;
  let bK = t / 16u;
  let c = 4u * (t % 16u);
  var acc: array<vec4<f32>, 4>;
  // Global rows of this tile start at firstRow + localRow0, a multiple of 64: U is zero left of that column.
  for (var l0 = params.firstRow + localRow0; l0 < params.blockStart; l0 += 16u) {
    for (var e = 0u; e < 4u; e++) {
      let k = 4u * aQuad + e;
      tileA[k * 16u + aRow / 4u][aRow % 4u] = loadU(localRow0 + aRow, l0 + k);
    }
    let l = l0 + bK;
    tileB[t] = vec4<f32>(loadQ(l, c), loadQ(l, c + 1u), loadQ(l, c + 2u), loadQ(l, c + 3u));
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a = tileA[kk * 16u + lid.y];
      let b = tileB[kk * 16u + lid.x];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var a = 0u; a < 4u; a++) {
    let localRow = localRow0 + 4u * lid.y + a;
    if (localRow >= params.rowsAbove) { continue; }
    for (var e = 0u; e < 4u; e++) {
      let col = 4u * lid.x + e;
      if (col < params.blockSize) { A[localRow * params.columns + params.blockStart + col] = -acc[a][e]; }
    }
  }
}

// cholesky_panel.wgsl — a 64-column panel of rows above a diagonal block, times that block's inverse U_kk:
//   factor mode:  R[i, block] = A[i, block] · U_kkᵀ   (the panel solve A12 = R12·R22ᵀ of the reverse Cholesky),
//                 written back in place and to the dense panel scratch for the trailing update;
//   inverse mode: Q[i, :] = R[i, block] · U_kk        (the right factor of U12 = −U11·R12·U22, to the scratch only).
// Rows i are this chunk's rows with index < blockStart (the rows above the block). A register-tiled GEMM: each
// invocation owns 4×4 outputs, K = blockSize ≤ 64 staged 16 at a time in workgroup memory.
//
// Bindings: 0 A chunk (read_write, row stride columns), 1 blockInverse (read, the block's 64×64 U_kk),
//           2 panel scratch (read_write, dense [blockStart, 64]), 3 params.
// Dispatch: (1, ceil(rowsAbove / 64), 1) workgroups of 16×16, rowsAbove = the chunk's rows with index < blockStart.

struct Params {
  columns: u32,
  firstRow: u32,
  rowsAbove: u32,
  blockStart: u32,
  blockSize: u32,
  unused: u32,
  factorMode: u32,
}

@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read> blockInverse: array<f32>;
@group(0) @binding(2) var<storage, read_write> panel: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> tileA: array<vec4<f32>, 256>;
var<workgroup> tileB: array<vec4<f32>, 256>;

fn loadA(localRow: u32, k: u32) -> f32 {
  if (localRow >= params.rowsAbove || k >= params.blockSize) { return 0.0; }
  return A[localRow * params.columns + params.blockStart + k];
}

// B[k][c] = U_kk[c][k] in factor mode, U_kk[k][c] in inverse mode; zero-padded beyond blockSize.
fn loadB(k: u32, c: u32) -> f32 {
  if (params.factorMode != 0u) { return blockInverse[c * 64u + k]; }
  return blockInverse[k * 64u + c];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wid.y * 64u;
  let t = lid.y * 16u + lid.x;
  let aRow = t / 4u;
  let aQuad = t % 4u;
  let bK = t / 16u;
  let bQuad = t % 16u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < params.blockSize; k0 += 16u) {
    for (var e = 0u; e < 4u; e++) {
      let k = 4u * aQuad + e;
      tileA[k * 16u + aRow / 4u][aRow % 4u] = loadA(row0 + aRow, k0 + k);
    }
    let c = 4u * bQuad;
    tileB[t] = vec4<f32>(loadB(k0 + bK, c), loadB(k0 + bK, c + 1u), loadB(k0 + bK, c + 2u), loadB(k0 + bK, c + 3u));
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
    let localRow = row0 + 4u * lid.y + a;
    if (localRow >= params.rowsAbove) { continue; }
    let row = params.firstRow + localRow;
    for (var e = 0u; e < 4u; e++) {
      let c = 4u * lid.x + e;
      if (c >= params.blockSize) { continue; }
      panel[row * 64u + c] = acc[a][e];
      if (params.factorMode != 0u) { A[localRow * params.columns + params.blockStart + c] = acc[a][e]; }
    }
  }
}

// cholesky_panel.wgsl — a 64-column panel of rows above a diagonal block, times that block's inverse U_kk:
//   factor mode:  R[i, block] = A[i, block] · U_kkᵀ   (the panel solve A12 = R12·R22ᵀ of the reverse Cholesky),
//                 written back in place and to the dense panel for the trailing update;
//   inverse mode: Q[i, :] = R[i, block] · U_kk        (the right factor of U12 = −U11·R12·U22, to the panel only).
// Rows i are this part's rows with index < blockStart. Register-tiled without workgroup memory: each invocation
// owns 4 rows × 4 columns, reading A as vec4 where its row stride is a multiple of 4 (VEC4_ROWS, chosen by the host)
// and as scalars otherwise, and U_kk as vec4 rows
// (dot products in factor mode, a GEMM's broadcast FMAs in inverse mode). One workgroup covers all 64 columns of
// its 16 rows, so the in-place write of factor mode waits for the workgroup's reads at a single barrier.
// Columns k ≥ blockSize (the partial last block) read as zero, and U_kk is zero there too.
//
// Bindings: 0 A part (read_write, row stride columns), 1 blockInverse (read, vec4 [64, 16]: U_kk),
//           2 panel (read_write, vec4 rows of 16; this part's row i at panelOffset + i), 3 params.
// Dispatch: (1, ceil(rowsAbove / 16), 1) workgroups of 16×4, rowsAbove = the part's rows with index < blockStart.

struct Params {
  columns: u32,
  rowsAbove: u32,
  blockStart: u32,
  blockSize: u32,
  factorMode: u32,
  panelOffset: u32,
}

//#if VEC4_ROWS
@group(0) @binding(0) var<storage, read_write> A: array<vec4<f32>>;
fn loadA4(index: u32) -> vec4<f32> { return A[index / 4u]; }
fn storeA(index: u32, value: f32) { A[index / 4u][index % 4u] = value; }
//#else
@group(0) @binding(0) var<storage, read_write> A: array<f32>;
fn loadA4(index: u32) -> vec4<f32> { return vec4<f32>(A[index], A[index + 1u], A[index + 2u], A[index + 3u]); }
fn storeA(index: u32, value: f32) { A[index] = value; }
//#endif
@group(0) @binding(1) var<storage, read> blockInverse: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> panel: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

// A[row, blockStart + k .. + 3], zero past the block. k is a multiple of 4, so is blockStart, and with the vec4
// form so is the row stride; a partial last block then ends on a multiple of 4 too.
fn loadRow4(row: u32, k: u32) -> vec4<f32> {
  if (k >= params.blockSize) { return vec4<f32>(); }
  let value = loadA4(row * params.columns + params.blockStart + k);
  if (k + 4u <= params.blockSize) { return value; }
  return select(vec4<f32>(), value, vec4<u32>(k, k + 1u, k + 2u, k + 3u) < vec4<u32>(params.blockSize));
}

@compute @workgroup_size(16, 4)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i0 = wid.y * 16u + lid.y * 4u;
  let c4 = lid.x;
  var rows: array<u32, 4>;
  for (var r = 0u; r < 4u; r++) { rows[r] = min(i0 + r, params.rowsAbove - 1u); }
  var acc: array<vec4<f32>, 4>;
  if (params.factorMode != 0u) {
    for (var k4 = 0u; k4 < 16u; k4++) {
      let b0 = blockInverse[(c4 * 4u + 0u) * 16u + k4];
      let b1 = blockInverse[(c4 * 4u + 1u) * 16u + k4];
      let b2 = blockInverse[(c4 * 4u + 2u) * 16u + k4];
      let b3 = blockInverse[(c4 * 4u + 3u) * 16u + k4];
      for (var r = 0u; r < 4u; r++) {
        let a = loadRow4(rows[r], k4 * 4u);
        acc[r] += vec4<f32>(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
      }
    }
  } else {
    for (var k4 = 0u; k4 < 16u; k4++) {
      let b0 = blockInverse[(k4 * 4u + 0u) * 16u + c4];
      let b1 = blockInverse[(k4 * 4u + 1u) * 16u + c4];
      let b2 = blockInverse[(k4 * 4u + 2u) * 16u + c4];
      let b3 = blockInverse[(k4 * 4u + 3u) * 16u + c4];
      for (var r = 0u; r < 4u; r++) {
        let a = loadRow4(rows[r], k4 * 4u);
        acc[r] += a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
      }
    }
  }
  // Every read of this workgroup's rows has completed (its values are in acc) before anyone overwrites them.
  workgroupBarrier();
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + r;
    if (i >= params.rowsAbove) { break; }
    panel[(params.panelOffset + i) * 16u + c4] = acc[r];
    if (params.factorMode == 0u) { continue; }
    for (var e = 0u; e < 4u; e++) {
      let c = c4 * 4u + e;
      if (c < params.blockSize) { storeA(i * params.columns + params.blockStart + c, acc[r][e]); }
    }
  }
}

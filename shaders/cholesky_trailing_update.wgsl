// cholesky_trailing_update.wgsl — the trailing update of the reverse Cholesky: A11 −= R12·R12ᵀ on the upper
// triangle of the leading [blockStart, blockStart] part, R12 being the panel just solved (dense scratch, 64 wide).
// This is where the factorization's FLOPs are: a symmetric rank-64 update, computed on upper 64×64 tiles only,
// each invocation owning 4×4 outputs, K staged 16 at a time in workgroup memory.
//
// Bindings: 0 A chunk (read_write, row stride columns), 1 panel (read, dense [blockStart, 64]), 2 params.
// Dispatch: (blockStart / 64, ceil(rowsAbove / 64), 1) workgroups of 16×16; tiles below the diagonal exit.

struct Params {
  columns: u32,
  firstRow: u32,
  rowsAbove: u32,
  blockStart: u32,
  blockSize: u32,
}

@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read> panel: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> tileA: array<vec4<f32>, 256>;
var<workgroup> tileB: array<vec4<f32>, 256>;

fn loadPanel(row: u32, k: u32) -> f32 {
  if (row >= params.blockStart || k >= params.blockSize) { return 0.0; }
  return panel[row * 64u + k];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tileRow = params.firstRow / 64u + wid.y;
  let tileCol = wid.x;
  if (tileCol < tileRow) { return; }
  let row0 = tileRow * 64u;
  let col0 = tileCol * 64u;
  let t = lid.y * 16u + lid.x;
  let loadRow = t / 4u;
  let loadQuad = t % 4u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < params.blockSize; k0 += 16u) {
    for (var e = 0u; e < 4u; e++) {
      let k = 4u * loadQuad + e;
      let slot = k * 16u + loadRow / 4u;
      tileA[slot][loadRow % 4u] = loadPanel(row0 + loadRow, k0 + k);
      tileB[slot][loadRow % 4u] = loadPanel(col0 + loadRow, k0 + k);
    }
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
  let rowEnd = params.firstRow + params.rowsAbove;
  for (var a = 0u; a < 4u; a++) {
    let row = row0 + 4u * lid.y + a;
    if (row >= rowEnd) { continue; }
    for (var e = 0u; e < 4u; e++) {
      let col = col0 + 4u * lid.x + e;
      if (col >= row && col < params.blockStart) {
        A[(row - params.firstRow) * params.columns + col] -= acc[a][e];
      }
    }
  }
}

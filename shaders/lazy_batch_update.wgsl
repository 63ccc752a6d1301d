// lazy_batch_update.wgsl — SparseGPT's lazy batch update after a block: W[:, blockEnd:] −= Err · U[block, blockEnd:].
// The bulk of the solver's FLOPs (rows · cols² over the whole layer): a register-tiled GEMM, each invocation owning
// 4×4 outputs of a 64×64 tile, K = the block's columns staged 16 at a time in workgroup memory (8 KiB).
//
// Bindings: 0 W chunk (read_write, row stride columns), 1 Err (read, [chunkRows, errStride]), 2 U panel (read:
//           U[blockStart + p, :] at row p, stride columns), 3 params.
// Dispatch: (ceil((columns − blockEnd) / 64), ceil(chunkRows / 64), 1) workgroups of 16×16.

struct Params {
  columns: u32,
  chunkRows: u32,
  blockEnd: u32,
  blockCount: u32,
  errStride: u32,
}

@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<storage, read> Err: array<f32>;
@group(0) @binding(2) var<storage, read> U: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> tileA: array<vec4<f32>, 256>;
var<workgroup> tileB: array<vec4<f32>, 256>;

fn loadErr(row: u32, k: u32) -> f32 {
  if (row >= params.chunkRows || k >= params.blockCount) { return 0.0; }
  return Err[row * params.errStride + k];
}

fn loadU(k: u32, col: u32) -> f32 {
  if (k >= params.blockCount || col >= params.columns) { return 0.0; }
  return U[k * params.columns + col];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wid.y * 64u;
  let col0 = params.blockEnd + wid.x * 64u;
  let t = lid.y * 16u + lid.x;
  let aRow = t / 4u;
  let aQuad = t % 4u;
  let bK = t / 16u;
  let bCol = col0 + 4u * (t % 16u);
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < params.blockCount; k0 += 16u) {
    for (var e = 0u; e < 4u; e++) {
      let k = 4u * aQuad + e;
      tileA[k * 16u + aRow / 4u][aRow % 4u] = loadErr(row0 + aRow, k0 + k);
    }
    let k = k0 + bK;
    tileB[t] = vec4<f32>(loadU(k, bCol), loadU(k, bCol + 1u), loadU(k, bCol + 2u), loadU(k, bCol + 3u));
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
    let row = row0 + 4u * lid.y + a;
    if (row >= params.chunkRows) { continue; }
    for (var e = 0u; e < 4u; e++) {
      let col = col0 + 4u * lid.x + e;
      if (col < params.columns) { W[row * params.columns + col] -= acc[a][e]; }
    }
  }
}

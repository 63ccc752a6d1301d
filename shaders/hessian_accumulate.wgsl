// hessian_accumulate.wgsl — running Hessian of a linear layer's inputs: H ← α·H + β·XᵀX, upper triangle only.
//
// X is the layer input, row-major f32 [tokens, columns], bound as a window of the caller's buffer (xOffset floats
// from the window start). H is one row chunk of the [columns, columns] Hessian: rows firstRow … firstRow +
// chunkRows − 1, row stride columns. Only 64×64 tiles on or above the diagonal are computed (H is symmetric and
// every consumer reads the upper triangle), which halves the FLOPs. With α = n/(n+t) and β = 2/(n+t), H stays the
// mean 2/N·Σ xxᵀ over all N tokens seen so far without re-reading old ones, as in the paper. Each invocation owns a
// 4×4 block of the tile; the tile's two column strips of X are staged 16 tokens at a time in workgroup memory
// (8 KiB), read back as vec4 so every staged value feeds 4 FMAs.
//
// Bindings: 0 X (read), 1 H chunk (read_write), 2 params.
// Dispatch: (ceil(columns / 64), ceil(chunkRows / 64), 1) workgroups of 16×16; tiles below the diagonal exit.

struct Params {
  columns: u32,
  tokens: u32,
  xOffset: u32,
  firstRow: u32,
  chunkRows: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> H: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// [16 tokens][16 quads]: tileA[k * 16 + q] = X[token0 + k][row0 + 4q … 4q + 3].
var<workgroup> tileA: array<vec4<f32>, 256>;
var<workgroup> tileB: array<vec4<f32>, 256>;

fn loadX(token: u32, column: u32) -> f32 {
  if (token >= params.tokens || column >= params.columns) { return 0.0; }
  return X[params.xOffset + token * params.columns + column];
}

fn loadQuad(token: u32, column: u32) -> vec4<f32> {
  return vec4<f32>(loadX(token, column), loadX(token, column + 1u), loadX(token, column + 2u),
                   loadX(token, column + 3u));
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tileRow = params.firstRow / 64u + wid.y;
  let tileCol = wid.x;
  if (tileCol < tileRow) { return; }
  let row0 = tileRow * 64u;
  let col0 = tileCol * 64u;
  let t = lid.y * 16u + lid.x;
  let k = t / 16u;
  let q = t % 16u;

  var acc: array<vec4<f32>, 4>;
  for (var token0 = 0u; token0 < params.tokens; token0 += 16u) {
    tileA[t] = loadQuad(token0 + k, row0 + 4u * q);
    tileB[t] = loadQuad(token0 + k, col0 + 4u * q);
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

  let chunkEnd = params.firstRow + params.chunkRows;
  for (var a = 0u; a < 4u; a++) {
    let row = row0 + 4u * lid.y + a;
    if (row >= chunkEnd) { continue; }
    for (var e = 0u; e < 4u; e++) {
      let col = col0 + 4u * lid.x + e;
      if (col < params.columns) {
        let index = (row - params.firstRow) * params.columns + col;
        H[index] = params.alpha * H[index] + params.beta * acc[a][e];
      }
    }
  }
}

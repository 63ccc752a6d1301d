// hessian_accumulate.wgsl — running Hessian of a linear layer's inputs: H ← α·H + β·XᵀX, upper triangle only.
//
// X is the layer input, row-major f32 [tokens, columns], bound as a window of the caller's buffer (xOffset floats
// from the window start). H is one part of the [columns, columns] Hessian: rows firstRow … firstRow +
// partRows − 1, row stride columns. Only entries on or above the diagonal are computed and written (H is
// symmetric and every consumer reads the upper triangle), which halves the FLOPs. With α = n/(n+t) and
// β = 2/(n+t), H stays the mean 2/N·Σ xxᵀ over all N tokens seen so far without re-reading old ones, as in the
// paper. Register-tiled without workgroup memory or barriers: each invocation owns 4 rows i × 4 columns j and adds
// the outer product of X[t, i..i+3] and X[t, j..j+3] token by token (two vec4 loads per 16 FMAs, as in a GEMM).
// X is read as vec4 where the window's rows line up with vec4s (VEC4_ROWS, chosen by the host: columns and xOffset
// multiples of 4), as scalars otherwise.
//
// Bindings: 0 X (read), 1 H part (read_write), 2 params.
// Dispatch: (ceil(columns / 32), ceil(partRows / 32), 1) workgroups of 8×8; 32×32 tiles below the diagonal exit.

struct Params {
  columns: u32,
  tokens: u32,
  xOffset: u32,
  firstRow: u32,
  partRows: u32,
  alpha: f32,
  beta: f32,
}

//#if VEC4_ROWS
@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
// Four consecutive inputs of one token; `column` is a multiple of 4 and below columns.
fn loadQuad(token: u32, column: u32) -> vec4<f32> {
  return X[(params.xOffset + token * params.columns + column) / 4u];
}
//#else
@group(0) @binding(0) var<storage, read> X: array<f32>;
fn loadX(token: u32, column: u32) -> f32 {
  if (column >= params.columns) { return 0.0; }
  return X[params.xOffset + token * params.columns + column];
}
fn loadQuad(token: u32, column: u32) -> vec4<f32> {
  return vec4<f32>(loadX(token, column), loadX(token, column + 1u), loadX(token, column + 2u),
                   loadX(token, column + 3u));
}
//#endif
@group(0) @binding(1) var<storage, read_write> H: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tileRow0 = params.firstRow + wid.y * 32u;
  let tileCol0 = wid.x * 32u;
  if (tileCol0 + 31u < tileRow0) { return; }
  let row0 = tileRow0 + lid.y * 4u;
  let col0 = tileCol0 + lid.x * 4u;
  let partEnd = params.firstRow + params.partRows;
  if (row0 >= partEnd || col0 >= params.columns || col0 + 3u < row0) { return; }
  // Rows past the part read a valid column (their sums are not written).
  let rowColumn = min(row0, (params.columns - 1u) / 4u * 4u);

  var acc: array<vec4<f32>, 4>;
  for (var token = 0u; token < params.tokens; token++) {
    let a = loadQuad(token, rowColumn);
    let b = loadQuad(token, col0);
    acc[0] += a.x * b;
    acc[1] += a.y * b;
    acc[2] += a.z * b;
    acc[3] += a.w * b;
  }

  for (var r = 0u; r < 4u; r++) {
    let row = row0 + r;
    if (row >= partEnd) { break; }
    for (var e = 0u; e < 4u; e++) {
      let col = col0 + e;
      if (col >= row && col < params.columns) {
        let index = (row - params.firstRow) * params.columns + col;
        H[index] = params.alpha * H[index] + params.beta * acc[r][e];
      }
    }
  }
}

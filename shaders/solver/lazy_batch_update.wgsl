// lazy_batch_update.wgsl — SparseGPT's lazy batch update after a block: W[:, blockEnd:] −= Err · U[block, blockEnd:].
// The bulk of the solver's FLOPs (rows · cols² over the whole layer). Register-tiled like matmul.wgsl: each
// invocation owns 4 rows × 4 columns of W, loads one vec4 of Err per row and one vec4 of U per k, and keeps its 16
// sums in registers. No workgroup memory and no barriers: neighbouring invocations share loads through the cache
// on a GPU, and a CPU-backed adapter pays nothing for synchronisation.
// Err and the U panel are the solver's own scratch, laid out with row strides that are multiples of 4 (zero
// padding beyond blockCount / columns), so both are read as vec4; W keeps its unpadded stride and is read and
// written as scalars once per output. Columns run in vec4 groups from blockEnd rounded down to a multiple of 4;
// outputs left of blockEnd belong to the block itself and are not written.
//
// Bindings: 0 W part (read_write, row stride columns), 1 Err (read, vec4 [partRows, errStride4]), 2 U panel
//           (read, vec4: U[blockStart + p, :] at row p, stride panelStride4), 3 params.
// Dispatch: (ceil((ceil(columns / 4) − floor(blockEnd / 4)) / 8), ceil(partRows / 32), 1) workgroups of 8×8.

struct Params {
  columns: u32,
  partRows: u32,
  blockEnd: u32,
  blockCount: u32,
  errStride4: u32,
  panelStride4: u32,
}

@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<storage, read> Err: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col4 = params.blockEnd / 4u + gid.x;
  let row0 = gid.y * 4u;
  if (col4 * 4u >= params.columns || row0 >= params.partRows) { return; }
  // Rows past the part read its last row (always valid) and are not written back.
  var rows: array<u32, 4>;
  for (var r = 0u; r < 4u; r++) { rows[r] = min(row0 + r, params.partRows - 1u); }

  var acc: array<vec4<f32>, 4>;
  let k4Count = (params.blockCount + 3u) / 4u;
  for (var k4 = 0u; k4 < k4Count; k4++) {
    let k = k4 * 4u;
    let b0 = U[(k + 0u) * params.panelStride4 + col4];
    let b1 = U[(k + 1u) * params.panelStride4 + col4];
    let b2 = U[(k + 2u) * params.panelStride4 + col4];
    let b3 = U[(k + 3u) * params.panelStride4 + col4];
    for (var r = 0u; r < 4u; r++) {
      let a = Err[rows[r] * params.errStride4 + k4];
      acc[r] += a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
    }
  }
  for (var r = 0u; r < 4u; r++) {
    let row = row0 + r;
    if (row >= params.partRows) { break; }
    for (var e = 0u; e < 4u; e++) {
      let col = col4 * 4u + e;
      if (col >= params.blockEnd && col < params.columns) { W[row * params.columns + col] -= acc[r][e]; }
    }
  }
}

// cholesky_trailing_update.wgsl — the trailing update of the reverse Cholesky: A11 −= R12·R12ᵀ on the upper
// triangle of the leading [blockStart, blockStart] part, R12 being the panel just solved (dense, 64 wide; one
// buffer, or split into the same parts as A where it does not fit one binding). This is where the factorization's FLOPs are: a symmetric rank-64 update.
// Register-tiled like matmul.wgsl, without workgroup memory or barriers: each invocation owns 4 rows i × 4 columns
// j of A and accumulates dot(R12[i, k..k+3], R12[j, k..k+3]) over vec4s of k (the same FMAs per load as a GEMM).
// Tiles of a workgroup that lie wholly below the diagonal exit at once.
//
// Bindings: 0 A part holding rows i (read_write, row stride columns), 1 panel holding rows i (read, vec4 rows of
//           16; local row i at rowPanelOffset + i), 2 panel holding rows j (read, possibly the same buffer; the
//           range's column j at colPanelOffset + j), 3 params.
// Dispatch: (ceil(colCount / 32), ceil(rowCount / 32), 1) workgroups of 8×8: rowCount = the part's rows above
//           blockStart; columns colFirst .. colFirst + colCount (global), from the part's first row to blockStart
//           within one panel buffer.

struct Params {
  columns: u32,
  rowFirst: u32,
  rowCount: u32,
  rowPanelOffset: u32,
  colFirst: u32,
  colCount: u32,
  colPanelOffset: u32,
}

@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read> rowPanel: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> colPanel: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // Global first row and column of the workgroup's 32×32 tile; below the diagonal nothing is written.
  if (params.colFirst + wid.x * 32u + 31u < params.rowFirst + wid.y * 32u) { return; }
  let i0 = wid.y * 32u + lid.y * 4u;
  let j0 = wid.x * 32u + lid.x * 4u;
  if (i0 >= params.rowCount || j0 >= params.colCount) { return; }
  var rows: array<u32, 4>;
  var cols: array<u32, 4>;
  for (var r = 0u; r < 4u; r++) {
    rows[r] = min(i0 + r, params.rowCount - 1u);
    cols[r] = min(j0 + r, params.colCount - 1u);
  }
  var acc: array<vec4<f32>, 4>;
  for (var k4 = 0u; k4 < 16u; k4++) {
    let b0 = colPanel[(params.colPanelOffset + cols[0]) * 16u + k4];
    let b1 = colPanel[(params.colPanelOffset + cols[1]) * 16u + k4];
    let b2 = colPanel[(params.colPanelOffset + cols[2]) * 16u + k4];
    let b3 = colPanel[(params.colPanelOffset + cols[3]) * 16u + k4];
    for (var r = 0u; r < 4u; r++) {
      let a = rowPanel[(params.rowPanelOffset + rows[r]) * 16u + k4];
      acc[r] += vec4<f32>(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
    }
  }
  for (var r = 0u; r < 4u; r++) {
    let i = i0 + r;
    if (i >= params.rowCount) { break; }
    for (var c = 0u; c < 4u; c++) {
      let j = j0 + c;
      if (j < params.colCount && params.colFirst + j >= params.rowFirst + i) {
        A[i * params.columns + params.colFirst + j] -= acc[r][c];
      }
    }
  }
}

// hessian_diagonal.wgsl — copies the diagonal of one part of H into a dense vector.
//
// Bindings: 0 H part (read; rows firstRow … firstRow + partRows − 1, row stride columns), 1 diagonal (read_write,
//           f32 [columns]), 2 params.
// Dispatch: (ceil(partRows / 256), 1, 1) workgroups of 256.

struct Params {
  columns: u32,
  firstRow: u32,
  partRows: u32,
}

@group(0) @binding(0) var<storage, read> H: array<f32>;
@group(0) @binding(1) var<storage, read_write> diagonal: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let localRow = gid.x;
  if (localRow >= params.partRows) { return; }
  let row = params.firstRow + localRow;
  diagonal[row] = H[localRow * params.columns + row];
}

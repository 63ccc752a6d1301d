// zero_dead_columns.wgsl — W[:, j] = 0 for every dead input j (H_jj = 0), as SparseGPT does before pruning: those
// weights never met a nonzero input, so they carry no information the solver could preserve.
//
// Bindings: 0 W part (read_write, row stride columns), 1 deadFlags (read, u32 [columns]), 2 params.
// Dispatch: (x, y, 1) workgroups of 256 covering count = partRows · columns elements, index x + y·num_workgroups.x.

struct Params {
  columns: u32,
  count: u32,
}

@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<storage, read> deadFlags: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let index = (wid.x + wid.y * groups.x) * 256u + t;
  if (index >= params.count) { return; }
  if (deadFlags[index % params.columns] != 0u) { W[index] = 0.0; }
}

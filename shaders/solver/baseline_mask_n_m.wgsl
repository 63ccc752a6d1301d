// baseline_mask_n_m.wgsl — N:M masks of the baselines, no weight update: in every group of M consecutive weights of
// a row, zero the N with the smallest metric, |w| (magnitude) or |w|·‖X_j‖₂ (Wanda). Ties go to the lower column.
//
// Bindings: 0 W part (read_write, row stride columns), 1 columnNorms (read, f32 [columns]; ignored unless
//           useNorms), 2 params.
// Dispatch: (x, y, 1) workgroups of 256 covering partRows · columns / M groups, linear index x + y·num_workgroups.x.

struct Params {
  columns: u32,
  partRows: u32,
  n: u32,
  m: u32,
  useNorms: u32,
}

@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<storage, read> columnNorms: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn metric(index: u32, col: u32) -> f32 {
  let magnitude = abs(W[index]);
  if (params.useNorms != 0u) { return magnitude * columnNorms[col]; }
  return magnitude;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let groupIndex = (wid.x + wid.y * groups.x) * 256u + t;
  let groupsPerRow = params.columns / params.m;
  if (groupIndex >= params.partRows * groupsPerRow) { return; }
  let row = groupIndex / groupsPerRow;
  let col0 = (groupIndex % groupsPerRow) * params.m;
  let base = row * params.columns + col0;
  var zeroed = 0u;
  for (var g = 0u; g < params.m; g++) {
    let mg = metric(base + g, col0 + g);
    var rank = 0u;
    for (var h = 0u; h < params.m; h++) {
      let mh = metric(base + h, col0 + h);
      if (mh < mg || (mh == mg && h < g)) { rank++; }
    }
    if (rank < params.n) { zeroed |= 1u << g; }
  }
  for (var g = 0u; g < params.m; g++) {
    if (((zeroed >> g) & 1u) != 0u) { W[base + g] = 0.0; }
  }
}

// matrix_stats.wgsl — counts exact zeros and non-finite values (NaN, ±Inf) of one matrix part: the achieved
// sparsity of a pruned layer, and the check that a caller's weights were finite.
//
// Bindings: 0 M part (read), 1 counters (read_write atomic: [0] zeros, [1] non-finite), 2 params.
// Dispatch: (x, y, 1) workgroups of 256 covering count elements (16 per invocation), index x + y·num_workgroups.x.

struct Params {
  count: u32,
}

@group(0) @binding(0) var<storage, read> M: array<f32>;
@group(0) @binding(1) var<storage, read_write> counters: array<atomic<u32>>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> zeros: atomic<u32>;
var<workgroup> nonFinite: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  if (t == 0u) {
    atomicStore(&zeros, 0u);
    atomicStore(&nonFinite, 0u);
  }
  workgroupBarrier();
  let base = (wid.x + wid.y * groups.x) * 4096u;
  var z = 0u;
  var bad = 0u;
  for (var i = 0u; i < 16u; i++) {
    let index = base + i * 256u + t;
    if (index >= params.count) { break; }
    let bits = bitcast<u32>(M[index]);
    if ((bits & 0x7fffffffu) == 0u) { z++; }
    if ((bits & 0x7f800000u) == 0x7f800000u) { bad++; }
  }
  if (z > 0u) { atomicAdd(&zeros, z); }
  if (bad > 0u) { atomicAdd(&nonFinite, bad); }
  workgroupBarrier();
  if (t == 0u) {
    atomicAdd(&counters[0], atomicLoad(&zeros));
    atomicAdd(&counters[1], atomicLoad(&nonFinite));
  }
}

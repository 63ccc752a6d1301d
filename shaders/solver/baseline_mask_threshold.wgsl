// baseline_mask_threshold.wgsl — layer-wide magnitude pruning: zero every weight with |w| ≤ the threshold found by
// radix select over the whole layer (the Wanda repository's prune_magnitude; the paper's magnitude baseline).
//
// Bindings: 0 W part (read_write), 1 state (read: [0] threshold bits of |w|), 2 params.
// Dispatch: (x, y, 1) workgroups of 256 covering partRows · columns elements, linear index x + y·num_workgroups.x.

struct Params {
  count: u32,
}

@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<storage, read> state: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let index = (wid.x + wid.y * groups.x) * 256u + t;
  if (index >= params.count) { return; }
  if (bitcast<u32>(abs(W[index])) <= state[0]) { W[index] = 0.0; }
}

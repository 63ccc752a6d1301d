// softcap.wgsl — X[i] ← cap · tanh(X[i] / cap), in place, for i < count: Gemma 2's final logit soft-capping, on a
// slice of logits before its log-sum-exp. The host prepends activations.wgsl for stable_tanh.
//
// Bindings: 0 X (read_write), 1 params.
// Dispatch: count invocations, workgroups of 256 over a 2-D grid (x ≤ 65535).

struct Params { count: u32, cap: f32 }

@group(0) @binding(0) var<storage, read_write> X: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let index = (wid.y * groups.x + wid.x) * 256u + lane;
  if (index >= params.count) { return; }
  X[index] = params.cap * stable_tanh(X[index] / params.cap);
}

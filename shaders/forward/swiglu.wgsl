// swiglu.wgsl — gated MLP activation: Y[t, i] = activation(gate[t, i]) · up[t, i], where each row of the input
// holds the fused gate|up projection (gate in columns [0, I), up in [I, 2I)). SiLU by default (Llama, Mistral,
// Qwen2); the ACTIVATION override (codes in activations.wgsl, which the host prepends) gives GeGLU variants.
//
// Bindings: 0 gateUp [tokens, 2I], 1 Y [tokens, I], 2 params.
// Dispatch: tokens·I invocations, workgroups of 256 over a 2-D grid (x ≤ 65535).

struct Params { tokens: u32, intermediate: u32 }

override ACTIVATION: u32 = 4u;

@group(0) @binding(0) var<storage, read> gateUp: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let index = (wid.y * groups.x + wid.x) * 256u + lane;
  if (index >= params.tokens * params.intermediate) { return; }
  let token = index / params.intermediate;
  let column = index % params.intermediate;
  let gate = gateUp[token * 2u * params.intermediate + column];
  let up = gateUp[token * 2u * params.intermediate + params.intermediate + column];
  Y[index] = activate(gate, ACTIVATION) * up;
}

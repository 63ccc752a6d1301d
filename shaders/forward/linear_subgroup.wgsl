// linear_subgroup.wgsl — Y = activation(X·Wᵀ + bias) + residual for few tokens (one to four per workgroup): the
// GPU form of linear.wgsl where a GEMM degenerates into matrix-vector products (generation, a short slice).
//
// Each workgroup of 64 invocations computes 4 tokens × 4 outputs; the dot products along `in` are split over its
// invocations (invocation i takes the vec4s i, i + 64, …, so each row of W is read once, coalesced), then summed
// by subgroupAdd within each subgroup and across subgroups through workgroup memory: the leader of each subgroup
// (subgroup_invocation_id 0) leaves its subgroup's sums at its own index, every other index holds zeros, and four
// invocations add the 64 slots. No assumption on the subgroup size (4 on SwiftShader, 32 or 64 on GPUs).
// Same results as linear.wgsl; needs in % 4 == 0. Requires activations.wgsl and linear_common.wgsl prepended.
//
// Bindings, parameters, overrides and the epilogue: linear_common.wgsl, X and W loaded as vec4<f32>.
// Dispatch: (ceil(rows / 4), ceil(tokens / 4), 1) workgroups of 64.

enable subgroups;

alias LinearElement = vec4<f32>;

const LANES = 64u;

// [token i][invocation]: a subgroup's sums for its 4 outputs at its leader's index, zeros elsewhere.
var<workgroup> partial: array<vec4<f32>, 256>;

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) group: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
  @builtin(subgroup_invocation_id) subgroupLane: u32,
) {
  let column0 = group.x * 4u;
  let token0 = group.y * 4u;
  // Tokens and rows past the end re-read the last valid one (always in bounds) and are not written.
  var xBase: array<u32, 4>;
  var wBase: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    xBase[i] = (params.xRowStart + min(token0 + i, params.tokens - 1u)) * params.inElements;
    wBase[i] = (params.weightRowStart + min(column0 + i, params.rows - 1u)) * params.inElements;
  }
  // acc[i][j]: token0 + i, output column0 + j, over this invocation's share of `in`.
  var acc: array<vec4<f32>, 4>;
  for (var k = lane; k < params.inElements; k += LANES) {
    let w0 = W[wBase[0] + k];
    let w1 = W[wBase[1] + k];
    let w2 = W[wBase[2] + k];
    let w3 = W[wBase[3] + k];
    for (var i = 0u; i < 4u; i++) {
      let x = X[xBase[i] + k];
      acc[i] += vec4<f32>(dot(x, w0), dot(x, w1), dot(x, w2), dot(x, w3));
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let sum = subgroupAdd(acc[i]);
    partial[i * LANES + lane] = select(vec4<f32>(0.0), sum, subgroupLane == 0u);
  }
  workgroupBarrier();
  if (lane >= 4u) { return; }
  let token = token0 + lane;
  if (token >= params.tokens) { return; }
  var total = vec4<f32>(0.0);
  for (var s = 0u; s < LANES; s++) { total += partial[lane * LANES + s]; }
  for (var j = 0u; j < 4u; j++) {
    if (column0 + j >= params.rows) { break; }
    store_output(token, column0 + j, total[j]);
  }
}

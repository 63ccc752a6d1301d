// linear_subgroup.wgsl — Y = activation(X·Wᵀ + bias) + residual for few tokens (one to four per workgroup): the
// GPU form of linear.wgsl where a GEMM degenerates into matrix-vector products (generation, a short slice).
//
// Each workgroup of 64 invocations computes 4 tokens × 4 outputs; the dot products along `in` are split over its
// invocations (invocation i takes the vec4s i, i + 64, …, so each row of W is read once, coalesced), then summed
// by subgroupAdd within each subgroup and across subgroups through workgroup memory: the leader of each subgroup
// (subgroup_invocation_id 0) leaves its subgroup's sums at its own index, every other index holds zeros, and four
// invocations add the 64 slots. No assumption on the subgroup size (4 on SwiftShader, 32 or 64 on GPUs).
// Same parameters, bindings, overrides and results as linear.wgsl; needs in % 4 == 0. Requires activations.wgsl.
//
// Bindings: 0 X (array<vec4<f32>>), 1 W shard (array<vec4<f32>>), 2 bias, 3 residual, 4 Y (array<f32>), 5 params.
// Overrides: HAS_BIAS, HAS_RESIDUAL, ACTIVATION.
// Dispatch: (ceil(rows / 4), ceil(tokens / 4), 1) workgroups of 64.

enable subgroups;

struct Params {
  tokens: u32,
  in4: u32,
  rows: u32,
  weightRowStart: u32,
  outStride: u32,
  outColumnStart: u32,
  xRowStart: u32,
  biasRowStart: u32,
  yRowStart: u32,
  residualRowStart: u32,
}

override HAS_BIAS: bool = false;
override HAS_RESIDUAL: bool = false;
override ACTIVATION: u32 = 0u;

@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

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
    xBase[i] = (params.xRowStart + min(token0 + i, params.tokens - 1u)) * params.in4;
    wBase[i] = (params.weightRowStart + min(column0 + i, params.rows - 1u)) * params.in4;
  }
  // acc[i][j]: token0 + i, output column0 + j, over this invocation's share of `in`.
  var acc: array<vec4<f32>, 4>;
  for (var k = lane; k < params.in4; k += LANES) {
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
    let column = params.outColumnStart + column0 + j;
    var value = total[j];
    if (HAS_BIAS) { value += bias[params.biasRowStart + column0 + j]; }
    value = activate(value, ACTIVATION);
    if (HAS_RESIDUAL) { value += residual[(params.residualRowStart + token) * params.outStride + column]; }
    Y[(params.yRowStart + token) * params.outStride + column] = value;
  }
}

// linear_unaligned.wgsl — the scalar twin of linear.wgsl for `in` not a multiple of 4 (odd test sizes, unusual
// model widths): Y = activation(X·Wᵀ + bias) + residual for one row shard of W, 4 tokens × 4 outputs per
// invocation, scalar loads. Same bindings, overrides, parameters (row offsets included) and dispatch as
// linear.wgsl, except that X and W are array<f32> and params.in4 holds `in` itself. Requires activations.wgsl
// prepended.
//
// Bindings: 0 X [*, in], 1 W shard [rows, in], 2 bias, 3 residual, 4 Y (row stride outStride), 5 params.
// Dispatch: (ceil(rows / 32), ceil(tokens / 32), 1) workgroups of 8×8.

struct Params {
  tokens: u32,
  features: u32,
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

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let column0 = gid.x * 4u;
  let token0 = gid.y * 4u;
  if (column0 >= params.rows || token0 >= params.tokens) { return; }
  let xBase = vec4<u32>(
    params.xRowStart + min(token0, params.tokens - 1u),
    params.xRowStart + min(token0 + 1u, params.tokens - 1u),
    params.xRowStart + min(token0 + 2u, params.tokens - 1u),
    params.xRowStart + min(token0 + 3u, params.tokens - 1u),
  ) * params.features;
  let wBase = vec4<u32>(
    params.weightRowStart + min(column0, params.rows - 1u),
    params.weightRowStart + min(column0 + 1u, params.rows - 1u),
    params.weightRowStart + min(column0 + 2u, params.rows - 1u),
    params.weightRowStart + min(column0 + 3u, params.rows - 1u),
  ) * params.features;
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < params.features; k++) {
    let w = vec4<f32>(W[wBase.x + k], W[wBase.y + k], W[wBase.z + k], W[wBase.w + k]);
    acc[0] += X[xBase.x + k] * w;
    acc[1] += X[xBase.y + k] * w;
    acc[2] += X[xBase.z + k] * w;
    acc[3] += X[xBase.w + k] * w;
  }
  for (var i = 0u; i < 4u; i++) {
    let token = token0 + i;
    if (token >= params.tokens) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (column0 + j >= params.rows) { break; }
      let column = params.outColumnStart + column0 + j;
      var value = acc[i][j];
      if (HAS_BIAS) { value += bias[params.biasRowStart + column0 + j]; }
      value = activate(value, ACTIVATION);
      if (HAS_RESIDUAL) { value += residual[(params.residualRowStart + token) * params.outStride + column]; }
      Y[(params.yRowStart + token) * params.outStride + column] = value;
    }
  }
}

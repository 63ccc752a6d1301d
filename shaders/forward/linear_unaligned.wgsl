// linear_unaligned.wgsl — the scalar twin of linear.wgsl for `in` not a multiple of 4 (odd test sizes, unusual
// model widths): Y = activation(X·Wᵀ + bias) + residual for one row shard of W, 4 tokens × 4 outputs per
// invocation, scalar loads. Same dispatch as linear.wgsl. Requires activations.wgsl and linear_common.wgsl
// prepended.
//
// Bindings, parameters, overrides and the epilogue: linear_common.wgsl, X and W loaded as f32 (params.inElements
// is `in` itself).
// Dispatch: (ceil(rows / 32), ceil(tokens / 32), 1) workgroups of 8×8.

alias LinearElement = f32;

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
  ) * params.inElements;
  let wBase = vec4<u32>(
    params.weightRowStart + min(column0, params.rows - 1u),
    params.weightRowStart + min(column0 + 1u, params.rows - 1u),
    params.weightRowStart + min(column0 + 2u, params.rows - 1u),
    params.weightRowStart + min(column0 + 3u, params.rows - 1u),
  ) * params.inElements;
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < params.inElements; k++) {
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
      store_output(token, column0 + j, acc[i][j]);
    }
  }
}

// linear.wgsl — Y = activation(X·Wᵀ + bias) + residual for one row shard of W, vec4 loads along `in`.
//
// X is row-major [tokens, in], W row-major [rows, in] (the PyTorch nn.Linear layout: each output is the dot of
// two rows, so both operands are read contiguously along `in`). Each invocation computes a 4 tokens × 4 outputs
// register tile: every vec4 of X it loads is reused for 4 outputs and every vec4 of W for 4 tokens, with no
// workgroup memory or barriers (fast on GPUs through L1, and on CPU adapters where barriers are costly).
// A row shard of W is written to output columns [outColumnStart, outColumnStart + rows) of Y, so a weight matrix
// split across buffers (binding-size limits, fused q|k|v) or a vocabulary slice of the LM head is one dispatch.
// X, Y and residual each start at their own row (xRowStart, yRowStart, residualRowStart), so a block can run its
// per-token work in token slices between whole-chunk buffers and slice-sized scratch.
// Needs in % 4 == 0 (linear_unaligned.wgsl is the scalar twin). Requires activations.wgsl and linear_common.wgsl
// prepended.
//
// Bindings, parameters, overrides and the epilogue: linear_common.wgsl, X and W loaded as vec4<f32>.
// Dispatch: (ceil(rows / 32), ceil(tokens / 32), 1) workgroups of 8×8.

alias LinearElement = vec4<f32>;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let column0 = gid.x * 4u;
  let token0 = gid.y * 4u;
  if (column0 >= params.rows || token0 >= params.tokens) { return; }
  // Tokens and rows past the end re-read the last valid one (always in bounds) and are not written.
  var xBase: array<u32, 4>;
  var wBase: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    xBase[i] = (params.xRowStart + min(token0 + i, params.tokens - 1u)) * params.inElements;
    wBase[i] = (params.weightRowStart + min(column0 + i, params.rows - 1u)) * params.inElements;
  }
  // acc[i][j]: token0 + i, output column0 + j.
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < params.inElements; k++) {
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
    let token = token0 + i;
    if (token >= params.tokens) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (column0 + j >= params.rows) { break; }
      store_output(token, column0 + j, acc[i][j]);
    }
  }
}

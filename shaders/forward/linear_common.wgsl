// linear_common.wgsl — not a kernel: what the four forms of the forward's linear (linear.wgsl,
// linear_unaligned.wgsl, linear_tiled.wgsl, linear_subgroup.wgsl) share, prepended to each by their host
// (kernels/linear.ts, after activations.wgsl): the parameters, the overrides, the bindings and the epilogue, so that
// every form takes the same arguments and writes the same value for the same dot product.
//
// Each form declares `alias LinearElement = …;`, the element its X and W are loaded as: vec4<f32> for the three
// forms that need in % 4 == 0, f32 for linear_unaligned.wgsl; params.inElements counts `in` in those elements.
//
// Bindings: 0 X [*, in] (array<LinearElement>, row xRowStart on), 1 W shard [rows, in] (array<LinearElement>,
//           row weightRowStart on), 2 bias (row biasRowStart + r for shard row r), 3 residual (row stride
//           outStride, row residualRowStart on), 4 Y (array<f32>, row stride outStride, row yRowStart on), 5 params.
// Overrides: HAS_BIAS, HAS_RESIDUAL, ACTIVATION (codes in activations.wgsl; applied before the residual).

struct Params {
  tokens: u32,
  inElements: u32,
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

@group(0) @binding(0) var<storage, read> X: array<LinearElement>;
@group(0) @binding(1) var<storage, read> W: array<LinearElement>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> residual: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

// Y[token, outColumnStart + row] = activation(dot + bias[row]) + residual, for shard row `row` (< params.rows)
// and token `token` (< params.tokens).
fn store_output(token: u32, row: u32, dot: f32) {
  let column = params.outColumnStart + row;
  var value = dot;
  if (HAS_BIAS) { value += bias[params.biasRowStart + row]; }
  value = activate(value, ACTIVATION);
  if (HAS_RESIDUAL) { value += residual[(params.residualRowStart + token) * params.outStride + column]; }
  Y[(params.yRowStart + token) * params.outStride + column] = value;
}

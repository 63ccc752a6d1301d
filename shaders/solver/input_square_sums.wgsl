// input_square_sums.wgsl — per-input sums of squares of a linear layer's inputs: sums[j] += Σ_t X[t, j]², the
// ‖X_j‖² of OWL's outlier scores |W_ij|·‖X_j‖ (Yin et al., 2024), without the Hessian's columns² work per token.
//
// X is the layer input, row-major f32 [tokens, columns], bound as a window of the caller's buffer (xOffset floats
// from the window start). Each invocation owns one column and walks the tokens, so neighbouring invocations read
// neighbouring floats of a row; a column's partial sum is added to what earlier windows left in `sums`.
//
// Bindings: 0 X (read), 1 sums (read_write, f32 [columns]), 2 params.
// Dispatch: (ceil(columns / 64), 1, 1) workgroups of 64.

struct Params {
  columns: u32,
  tokens: u32,
  xOffset: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> sums: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let column = gid.x;
  if (column >= params.columns) { return; }
  var sum = 0.0;
  for (var token = 0u; token < params.tokens; token++) {
    let x = X[params.xOffset + token * params.columns + column];
    sum += x * x;
  }
  sums[column] += sum;
}

// rms_norm.wgsl — Y[t, :] = X[t, :] / sqrt(mean(X[t, :]²) + eps) · weight (+ R[t, :]) (LlamaRMSNorm, f32
// throughout). Gemma's (1 + w) norms get weight = w + 1, rounded to f32 as Gemma's own float32 norm rounds it. With
// HAS_RESIDUAL the residual row R[t] is added after the norm: Gemma's post-attention and post-MLP norms, whose output
// joins the residual stream (h = x + norm(o_proj(…))).
//
// One workgroup of 64 per row: each thread sums the squares of a strided slice, a tree in workgroup memory
// combines them. Rows are numbered across a 2-D grid (num_workgroups.x × y) so more than 65535 tokens fit in one
// dispatch. X rows are read from xRowStart on (the LM head normalises a token slice of the whole hidden buffer),
// Y rows written from yRowStart on (a block's token slice back into the whole chunk) and R rows read from
// residualRowStart on.
//
// Bindings: 0 X [*, features], 1 weight [features], 2 Y [*, features], 3 params, 4 R [*, features] (a placeholder
//           without HAS_RESIDUAL).
// Dispatch: rows workgroups of 64, spread as (min(rows, 65535), ceil(rows / 65535), 1).

struct Params { rows: u32, features: u32, xRowStart: u32, yRowStart: u32, eps: f32, residualRowStart: u32 }

override HAS_RESIDUAL: u32 = 0u;

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
@group(0) @binding(4) var<storage, read> R: array<f32>;

const THREADS = 64u;
var<workgroup> partial: array<f32, THREADS>;

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let row = wid.y * groups.x + wid.x;
  // Uniform per workgroup, so the early return cannot split a workgroup at the barriers below.
  if (row >= params.rows) { return; }
  let xBase = (params.xRowStart + row) * params.features;
  var sum = 0.0;
  for (var f = lane; f < params.features; f += THREADS) {
    let x = X[xBase + f];
    sum += x * x;
  }
  partial[lane] = sum;
  for (var stride = THREADS / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lane < stride) { partial[lane] += partial[lane + stride]; }
  }
  workgroupBarrier();
  let scale = inverseSqrt(partial[0] / f32(params.features) + params.eps);
  let yBase = (params.yRowStart + row) * params.features;
  let rBase = (params.residualRowStart + row) * params.features;
  for (var f = lane; f < params.features; f += THREADS) {
    var y = X[xBase + f] * scale * weight[f];
    if (HAS_RESIDUAL != 0u) { y += R[rBase + f]; }
    Y[yBase + f] = y;
  }
}

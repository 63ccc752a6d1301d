// layer_norm.wgsl — Y[t, :] = (X[t, :] − mean) / sqrt(var + eps) · weight + bias (torch.nn.LayerNorm: biased
// variance, eps inside the square root), f32.
//
// One workgroup of 64 per row; the mean and then the variance around it are each reduced by a tree in
// workgroup memory (two passes over the row, which stays in cache, rather than the cancellation-prone
// E[x²] − E[x]²). Rows span a 2-D grid so more than 65535 tokens fit in one dispatch; X rows start at xRowStart,
// Y rows at yRowStart.
//
// Bindings: 0 X [*, features], 1 weight [features], 2 bias [features], 3 Y [*, features], 4 params.
// Dispatch: rows workgroups of 64, spread as (min(rows, 65535), ceil(rows / 65535), 1).

struct Params { rows: u32, features: u32, xRowStart: u32, yRowStart: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

const THREADS = 64u;
var<workgroup> partial: array<f32, THREADS>;

fn reduce_sum(lane: u32, value: f32) -> f32 {
  workgroupBarrier();
  partial[lane] = value;
  for (var stride = THREADS / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lane < stride) { partial[lane] += partial[lane + stride]; }
  }
  workgroupBarrier();
  return partial[0];
}

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let row = wid.y * groups.x + wid.x;
  if (row >= params.rows) { return; }
  let xBase = (params.xRowStart + row) * params.features;
  let count = f32(params.features);
  var sum = 0.0;
  for (var f = lane; f < params.features; f += THREADS) { sum += X[xBase + f]; }
  let mean = reduce_sum(lane, sum) / count;
  var squares = 0.0;
  for (var f = lane; f < params.features; f += THREADS) {
    let d = X[xBase + f] - mean;
    squares += d * d;
  }
  let scale = inverseSqrt(reduce_sum(lane, squares) / count + params.eps);
  let yBase = (params.yRowStart + row) * params.features;
  for (var f = lane; f < params.features; f += THREADS) {
    Y[yBase + f] = (X[xBase + f] - mean) * scale * weight[f] + bias[f];
  }
}

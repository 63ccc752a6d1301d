// head_rms_norm.wgsl — per-head RMSNorm of the query and key heads of a fused q|k|v buffer, in place, after the
// projection and before RoPE (Qwen3's and Gemma 3's q_norm / k_norm): every head's headDim values are one RMSNorm
// row, v ← v / sqrt(mean(v²) + eps) · weight, with the query weight on the queryHeads query heads (from column 0)
// and the key weight on the kvHeads key heads after them. Gemma 3's (1 + w) norms get weight = w + 1 from the host.
// The value heads are left as they are.
//
// One invocation per (token, head): a head is 64-256 values, two passes over it in registers' reach, and the
// q|k|v of one token's heads is a small fraction of the projection that wrote it.
//
// Bindings: 0 qkv (read_write, row stride rowStride), 1 query weight [headDim], 2 key weight [headDim], 3 params.
// Dispatch: tokens·(queryHeads + kvHeads) invocations, workgroups of 64 over a 2-D grid (x ≤ 65535).

struct Params { tokens: u32, rowStride: u32, queryHeads: u32, kvHeads: u32, headDim: u32, eps: f32 }

@group(0) @binding(0) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(1) var<storage, read> queryWeight: array<f32>;
@group(0) @binding(2) var<storage, read> keyWeight: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let index = (wid.y * groups.x + wid.x) * 64u + lane;
  let headsPerToken = params.queryHeads + params.kvHeads;
  if (index >= params.tokens * headsPerToken) { return; }
  let token = index / headsPerToken;
  let head = index % headsPerToken;
  let base = token * params.rowStride + head * params.headDim;
  var sum = 0.0;
  for (var d = 0u; d < params.headDim; d++) {
    let v = qkv[base + d];
    sum += v * v;
  }
  let scale = inverseSqrt(sum / f32(params.headDim) + params.eps);
  let isQuery = head < params.queryHeads;
  for (var d = 0u; d < params.headDim; d++) {
    let w = select(keyWeight[d], queryWeight[d], isQuery);
    qkv[base + d] = qkv[base + d] * scale * w;
  }
}

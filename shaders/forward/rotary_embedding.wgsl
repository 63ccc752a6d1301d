// rotary_embedding.wgsl — rotary position embedding, in place, on the query and key heads of a fused q|k|v buffer
// (transformers' rotate_half convention: dimension i of a head pairs with i + rotary/2).
//
// For each token t (position p = t mod seqLen in the precomputed table), each of the heads + kvHeads query and
// key heads (contiguous at the start of each qkv row), and each pair i < half = rotaryDim / 2:
//   x1 = v[i], x2 = v[i + half];  v[i] = x1·cos − x2·sin;  v[i + half] = x2·cos + x1·sin
// with (cos, sin) = table[p, i], computed on the host in float64 with the model's RoPE scaling (and YaRN's
// attention factor) already applied. Dimensions past rotaryDim (partial rotary) are left as they are.
//
// Bindings: 0 qkv (read_write, row stride rowStride), 1 table (vec2 cos, sin per [position, pair]), 2 params.
// Dispatch: tokens·rotatedHeads·half invocations, workgroups of 256 over a 2-D grid (x ≤ 65535).

struct Params { tokens: u32, seqLen: u32, rowStride: u32, rotatedHeads: u32, headDim: u32, half: u32 }

@group(0) @binding(0) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let index = (wid.y * groups.x + wid.x) * 256u + lane;
  let pairsPerToken = params.rotatedHeads * params.half;
  if (index >= params.tokens * pairsPerToken) { return; }
  let token = index / pairsPerToken;
  let within = index % pairsPerToken;
  let head = within / params.half;
  let pair = within % params.half;
  let rotation = table[(token % params.seqLen) * params.half + pair];
  let first = token * params.rowStride + head * params.headDim + pair;
  let x1 = qkv[first];
  let x2 = qkv[first + params.half];
  qkv[first] = x1 * rotation.x - x2 * rotation.y;
  qkv[first + params.half] = x2 * rotation.x + x1 * rotation.y;
}

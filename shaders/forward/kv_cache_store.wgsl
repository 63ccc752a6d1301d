// kv_cache_store.wgsl — copies the keys and values of new tokens from a head group's fused q|k|v rows (after RoPE)
// into the KV cache rows of their positions, for attention_decode.wgsl to read at every later step.
//
// For token t < tokens and i < width (the group's key/value heads · headDim):
//   keys[(cacheRow + t)·cacheStride + cacheColumn + i]   = qkv[(qkvRow + t)·rowStride + keyColumn + i]
//   values[(cacheRow + t)·cacheStride + cacheColumn + i] = qkv[(qkvRow + t)·rowStride + valueColumn + i]
// A cache split by positions gets one dispatch per part its tokens fall in (cacheRow counts from the part's start).
//
// Bindings: 0 qkv (read), 1 keys part (read_write), 2 values part (read_write), 3 params.
// Dispatch: tokens·width invocations, workgroups of 256 over a 2-D grid (x ≤ 65535).

struct Params {
  tokens: u32,
  width: u32,
  qkvRow: u32,
  rowStride: u32,
  keyColumn: u32,
  valueColumn: u32,
  cacheRow: u32,
  cacheStride: u32,
  cacheColumn: u32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> keys: array<f32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let index = (wid.y * groups.x + wid.x) * 256u + lane;
  if (index >= params.tokens * params.width) { return; }
  let token = index / params.width;
  let i = index % params.width;
  let source = (params.qkvRow + token) * params.rowStride;
  let destination = (params.cacheRow + token) * params.cacheStride + params.cacheColumn + i;
  keys[destination] = qkv[source + params.keyColumn + i];
  values[destination] = qkv[source + params.valueColumn + i];
}

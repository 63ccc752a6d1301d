// embedding_gather.wgsl — Y[t, :] (+)= table[ids[t] − shardStart, :] for the tokens whose id falls in this row
// shard of an embedding table [vocab, features] (tables larger than one storage binding are split by rows; one
// dispatch per shard writes each token exactly once). With accumulate = 1 the row is added instead (learned
// position embeddings on top of the token embeddings).
//
// Bindings: 0 table shard [shardRows, features], 1 ids (u32 [tokens]), 2 Y [tokens, features], 3 params.
// Dispatch: tokens·features invocations, workgroups of 256 over a 2-D grid (x ≤ 65535).

struct Params { tokens: u32, features: u32, shardStart: u32, shardRows: u32, accumulate: u32 }

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let index = (wid.y * groups.x + wid.x) * 256u + lane;
  if (index >= params.tokens * params.features) { return; }
  let token = index / params.features;
  let feature = index % params.features;
  let id = ids[token];
  // Unsigned wrap-around makes ids below shardStart fail the same test as ids past the shard.
  let local = id - params.shardStart;
  if (local >= params.shardRows) { return; }
  let value = table[local * params.features + feature];
  if (params.accumulate != 0u) { Y[index] += value; } else { Y[index] = value; }
}

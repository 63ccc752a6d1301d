// embedding_gather.wgsl — Y[t, :] (+)= scale · table[ids[idStart + t] − shardStart, :] for the tokens whose id
// falls in this row shard of an embedding table [vocab, features] (tables larger than one storage binding are split
// by rows; one dispatch per shard writes each token exactly once). With accumulate = 1 the row is added instead (learned
// position embeddings on top of the token embeddings). scale is 1 (exact) but for Gemma's embeddings × √hidden,
// whose factor the host gives already rounded to the model's dtype. The same gather picks the rows of the tokens
// routed to one expert of a mixture-of-experts MLP out of a token slice's normalised states (the table), the id
// lists of every expert held in one buffer from idStart on.
//
// Bindings: 0 table shard [shardRows, features], 1 ids (u32 [idStart + tokens]), 2 Y [tokens, features], 3 params.
// Dispatch: tokens·features invocations, workgroups of 256 over a 2-D grid (x ≤ 65535).

struct Params {
  tokens: u32,
  features: u32,
  shardStart: u32,
  shardRows: u32,
  accumulate: u32,
  scale: f32,
  idStart: u32,
}

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
  let id = ids[params.idStart + token];
  // Unsigned wrap-around makes ids below shardStart fail the same test as ids past the shard.
  let local = id - params.shardStart;
  if (local >= params.shardRows) { return; }
  let value = table[local * params.features + feature] * params.scale;
  if (params.accumulate != 0u) { Y[index] += value; } else { Y[index] = value; }
}

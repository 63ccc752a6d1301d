// linear_tiled.wgsl — Y = activation(X·Wᵀ + bias) + residual for one row shard of W: the GPU form of linear.wgsl.
//
// A tiled GEMM with workgroup memory: each workgroup of 16×16 invocations computes 64 tokens × 64 outputs. Per
// step along `in` it stages a 64 × 16 tile of X and one of W in workgroup memory (each invocation loads one vec4
// of each, coalesced along `in`), transposed so that every invocation then reads 4 tokens and 4 outputs of one k
// as two vec4s; it keeps 4 tokens × 4 outputs in registers. Each value loaded from memory feeds 64 FMAs (the
// register-tiled linear.wgsl: 4), which is what a GPU's memory system needs; the two barriers per step are cheap
// on a GPU and expensive on a CPU-backed adapter, which runs linear.wgsl instead (kernel target 'cpu').
// Same results as linear.wgsl; needs in % 4 == 0. Requires activations.wgsl and linear_common.wgsl prepended.
//
// Bindings, parameters, overrides and the epilogue: linear_common.wgsl, X and W loaded as vec4<f32>.
// Dispatch: (ceil(rows / 64), ceil(tokens / 64), 1) workgroups of 16×16.

alias LinearElement = vec4<f32>;

const TILE = 64u;
const K_TILE = 16u;

// [k][group of 4 tokens or outputs]: element [k * 16 + g] holds tokens (outputs) 4g .. 4g + 3 of the tile at k.
var<workgroup> xTile: array<vec4<f32>, 256>;
var<workgroup> wTile: array<vec4<f32>, 256>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let rowBase = group.x * TILE;
  let tokenBase = group.y * TILE;
  let lane = local.y * 16u + local.x;
  // The vec4 this invocation stages per step: tile row lane / 4 (a token of X, an output of W), k4 lane % 4.
  let loadRow = lane / 4u;
  let loadK4 = lane % 4u;
  let token = tokenBase + loadRow;
  let row = rowBase + loadRow;
  let xBase = (params.xRowStart + min(token, params.tokens - 1u)) * params.inElements;
  let wBase = (params.weightRowStart + min(row, params.rows - 1u)) * params.inElements;

  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < params.inElements; k0 += K_TILE / 4u) {
    let k4 = k0 + loadK4;
    var x = vec4<f32>(0.0);
    var w = vec4<f32>(0.0);
    if (k4 < params.inElements) {
      x = X[xBase + k4];
      w = W[wBase + k4];
    }
    // Transposed into the tiles: k = 4·loadK4 + c, group loadRow / 4, lane loadRow % 4.
    for (var c = 0u; c < 4u; c++) {
      let slot = (loadK4 * 4u + c) * 16u + loadRow / 4u;
      xTile[slot][loadRow % 4u] = x[c];
      wTile[slot][loadRow % 4u] = w[c];
    }
    workgroupBarrier();
    for (var k = 0u; k < K_TILE; k++) {
      let xs = xTile[k * 16u + local.y];
      let ws = wTile[k * 16u + local.x];
      acc[0] += xs.x * ws;
      acc[1] += xs.y * ws;
      acc[2] += xs.z * ws;
      acc[3] += xs.w * ws;
    }
    workgroupBarrier();
  }

  // acc[i][j]: token tokenBase + 4·local.y + i, output rowBase + 4·local.x + j.
  for (var i = 0u; i < 4u; i++) {
    let t = tokenBase + local.y * 4u + i;
    if (t >= params.tokens) { break; }
    for (var j = 0u; j < 4u; j++) {
      let r = rowBase + local.x * 4u + j;
      if (r >= params.rows) { break; }
      store_output(t, r, acc[i][j]);
    }
  }
}

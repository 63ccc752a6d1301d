// reconstruction_error.wgsl — partial sums of the layer's reconstruction error without the calibration inputs:
//   ‖(W − Ŵ)X‖² ∝ tr(ΔW·H·ΔWᵀ)  and  ‖WX‖² ∝ tr(W·H·Wᵀ),  H the undamped Hessian (only its upper triangle is read:
//   x·H·xᵀ = Σ_j x_j·(H_jj·x_j + 2·Σ_{i<j} x_i·H_ij)).
// Each workgroup takes 64 rows of W and 64 columns j, forms T[r, j] = Σ_i x_ri·H'_ij over the H rows i of the bound
// H part (H' = H with the diagonal once, above it twice, below it zero) for x = ΔW and x = W together (one H tile
// load feeds both), then reduces Σ x_rj·T[r, j] to one (numerator, denominator) pair. Summing every pair over all
// (W part, H part) dispatches gives both traces; the host adds them in float64.
//
// Bindings: 0 W original part (read), 1 W pruned part (read; same rows, stride columns), 2 H part (read, rows
//           hFirstRow … hFirstRow + hRows − 1), 3 partials (read_write, vec2 per workgroup from partialBase),
//           4 params.
// Dispatch: (ceil(columns / 64), ceil(partRows / 64), 1) workgroups of 16×16.

struct Params {
  columns: u32,
  partRows: u32,
  hFirstRow: u32,
  hRows: u32,
  partialBase: u32,
}

@group(0) @binding(0) var<storage, read> original: array<f32>;
@group(0) @binding(1) var<storage, read> pruned: array<f32>;
@group(0) @binding(2) var<storage, read> H: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec2<f32>>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> tileDelta: array<vec4<f32>, 256>;
var<workgroup> tileW: array<vec4<f32>, 256>;
var<workgroup> tileH: array<vec4<f32>, 256>;
var<workgroup> reduction: array<vec2<f32>, 256>;

fn weightedH(i: u32, j: u32) -> f32 {
  if (i >= params.hFirstRow + params.hRows || j >= params.columns || i > j) { return 0.0; }
  let h = H[(i - params.hFirstRow) * params.columns + j];
  return select(2.0 * h, h, i == j);
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let t = lid.y * 16u + lid.x;
  let aRow = t / 4u;
  let aQuad = t % 4u;
  let bK = t / 16u;
  let bCol = col0 + 4u * (t % 16u);
  var accDelta: array<vec4<f32>, 4>;
  var accW: array<vec4<f32>, 4>;
  // Only H rows i ≤ j contribute, and j < col0 + 64.
  let kEnd = min(params.hFirstRow + params.hRows, col0 + 64u);
  for (var k0 = params.hFirstRow; k0 < kEnd; k0 += 16u) {
    for (var e = 0u; e < 4u; e++) {
      let k = k0 + 4u * aQuad + e;
      let row = row0 + aRow;
      var w = 0.0;
      var q = 0.0;
      if (row < params.partRows && k < params.columns) {
        w = original[row * params.columns + k];
        q = pruned[row * params.columns + k];
      }
      let slot = (4u * aQuad + e) * 16u + aRow / 4u;
      tileDelta[slot][aRow % 4u] = w - q;
      tileW[slot][aRow % 4u] = w;
    }
    let i = k0 + bK;
    tileH[t] = vec4<f32>(weightedH(i, bCol), weightedH(i, bCol + 1u), weightedH(i, bCol + 2u),
                         weightedH(i, bCol + 3u));
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let d = tileDelta[kk * 16u + lid.y];
      let a = tileW[kk * 16u + lid.y];
      let b = tileH[kk * 16u + lid.x];
      accDelta[0] += d.x * b;
      accDelta[1] += d.y * b;
      accDelta[2] += d.z * b;
      accDelta[3] += d.w * b;
      accW[0] += a.x * b;
      accW[1] += a.y * b;
      accW[2] += a.z * b;
      accW[3] += a.w * b;
    }
    workgroupBarrier();
  }
  var sums = vec2<f32>(0.0, 0.0);
  for (var a = 0u; a < 4u; a++) {
    let row = row0 + 4u * lid.y + a;
    if (row >= params.partRows) { continue; }
    for (var e = 0u; e < 4u; e++) {
      let col = col0 + 4u * lid.x + e;
      if (col >= params.columns) { continue; }
      let w = original[row * params.columns + col];
      let q = pruned[row * params.columns + col];
      sums += vec2<f32>((w - q) * accDelta[a][e], w * accW[a][e]);
    }
  }
  reduction[t] = sums;
  for (var stride = 128u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (t < stride) { reduction[t] += reduction[t + stride]; }
  }
  if (t == 0u) { partials[params.partialBase + wid.x + wid.y * groups.x] = reduction[0]; }
}

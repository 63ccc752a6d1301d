// hessian_damping.wgsl — what SparseGPT derives from diag(H) before factoring: dead inputs, dampening, input norms.
//
// A column j is dead when H_jj = 0 (that input was zero on every calibration token); the paper then sets H_jj = 1
// and zeroes W[:, j]. The dampening is λ = percdamp · mean(diag H) with the dead entries already set to 1. Wanda's
// per-input norm is ‖X_j‖₂ = sqrt(H_jj · N / 2), because H = 2/N · XᵀX. One workgroup reduces the whole diagonal.
//
// Bindings: 0 diagonal (read, f32 [columns]), 1 deadFlags (read_write, u32 [columns]), 2 columnNorms (read_write,
//           f32 [columns]), 3 status (read_write, u32 words: [0] λ as f32 bits, [1] dead count, [4] mean as f32 bits),
//           4 params.
// Dispatch: (1, 1, 1) workgroup of 256.

struct Params {
  columns: u32,
  tokens: f32,
  percdamp: f32,
}

@group(0) @binding(0) var<storage, read> diagonal: array<f32>;
@group(0) @binding(1) var<storage, read_write> deadFlags: array<u32>;
@group(0) @binding(2) var<storage, read_write> columnNorms: array<f32>;
@group(0) @binding(3) var<storage, read_write> status: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> sums: array<f32, 256>;
var<workgroup> deadCounts: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
  var sum = 0.0;
  var dead = 0u;
  for (var j = t; j < params.columns; j += 256u) {
    let h = diagonal[j];
    let isDead = h == 0.0;
    deadFlags[j] = select(0u, 1u, isDead);
    columnNorms[j] = sqrt(max(h, 0.0) * params.tokens * 0.5);
    sum += select(h, 1.0, isDead);
    dead += select(0u, 1u, isDead);
  }
  sums[t] = sum;
  deadCounts[t] = dead;
  for (var stride = 128u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (t < stride) {
      sums[t] += sums[t + stride];
      deadCounts[t] += deadCounts[t + stride];
    }
  }
  workgroupBarrier();
  if (t == 0u) {
    let mean = sums[0] / f32(params.columns);
    status[0] = bitcast<u32>(params.percdamp * mean);
    status[1] = deadCounts[0];
    status[4] = bitcast<u32>(mean);
  }
}

// hessian_damp_copy.wgsl — the matrix SparseGPT factors: upper triangle of H with dead diagonals set to 1 and
// dampening added to the diagonal, zeros below the diagonal. Also flags any NaN or ±Inf in H.
//
// λ = percdamp · mean(diag H) with mean from hessian_damping.wgsl. The undamped H stays untouched (the
// reconstruction error needs it); a retry after a failed factorization recopies with a larger percdamp.
// Bindings: 0 H part (read), 1 A part (read_write; same rows and stride), 2 deadFlags (read, u32 [columns]),
//           3 status (read_write atomic u32 words: [3] non-finite H count,
//           [4] mean(diag H) bits), 4 params.
// Dispatch: (x, y, 1) workgroups of 256 covering partRows × columns elements, linear index x + y·num_workgroups.x.

struct Params {
  columns: u32,
  firstRow: u32,
  partRows: u32,
  percdamp: f32,
}

@group(0) @binding(0) var<storage, read> H: array<f32>;
@group(0) @binding(1) var<storage, read_write> A: array<f32>;
@group(0) @binding(2) var<storage, read> deadFlags: array<u32>;
@group(0) @binding(3) var<storage, read_write> status: array<atomic<u32>>;
@group(0) @binding(4) var<uniform> params: Params;

fn isFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let index = (wid.x + wid.y * groups.x) * 256u + t;
  if (index >= params.partRows * params.columns) { return; }
  let row = params.firstRow + index / params.columns;
  let col = index % params.columns;
  if (col < row) {
    A[index] = 0.0;
    return;
  }
  var h = H[index];
  if (!isFinite(h)) { atomicAdd(&status[3], 1u); }
  if (col == row) {
    let damping = bitcast<f32>(atomicLoad(&status[4])) * params.percdamp;
    h = select(h, 1.0, deadFlags[col] != 0u) + damping;
  }
  A[index] = h;
}

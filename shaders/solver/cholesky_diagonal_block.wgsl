// cholesky_diagonal_block.wgsl — one 64×64 diagonal block of the reverse (UL) Cholesky factorization A = R·Rᵀ
// (R upper triangular), followed by the inverse of that block: the block is left holding U_kk = R_kk⁻¹.
//
// Why reverse: SparseGPT walks U, the upper Cholesky factor of H⁻¹ (H⁻¹ = Uᵀ·U). If H = R·Rᵀ with R upper, then
// U = R⁻¹: one factorization and one triangular inverse, no explicit H⁻¹. (R = J·L·J for the ordinary lower factor
// L of the reversed matrix J·H·J, which is why the elimination runs from the last column to the first.)
// The block lives in workgroup memory (16 KiB, the whole WebGPU default), one row per invocation. Column c is
// eliminated by the unscaled rank-1 update a_ij −= a_ic·a_jc / p_c of the rows above it (p_c = a_cc, the pivot);
// a row only writes itself and only reads columns that are final, so one barrier per column suffices (barriers
// are what a CPU-backed adapter pays for). The scaling by 1/sqrt(p) is never applied: with R_ic = a_ic/sqrt(p_c)
// and R_cc = sqrt(p_c), each row t of U = R⁻¹ follows by forward substitution over the unscaled values,
// U_tt = 1/sqrt(p_t), U_tj = −Σ_{t≤l<j} U_tl·a_lj / p_j, rows independent, with no further barrier. A pivot that is
// not a finite positive number records a failure (the host retries with more dampening) and is used as 1 so the
// rest of the run stays finite. R_kk itself is never needed: the panel solve above the block uses U_kk, which is
// also saved (to this block's 64×64 slot of the block-inverse scratch) for the triangular inverse phase.
//
// Bindings: 0 A part holding the block's rows (read_write, row stride columns), 1 blockInverse (read_write,
//           this block's 64×64 slot), 2 status (read_write atomic: [2] = 1 + index of the last failed block), 3 params.
// Dispatch: (1, 1, 1) workgroup of 64.

struct Params {
  columns: u32,
  firstRow: u32,
  blockStart: u32,
  blockSize: u32,
  blockIndex: u32,
}

@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read_write> blockInverse: array<f32>;
@group(0) @binding(2) var<storage, read_write> status: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> block: array<f32, 4096>;

fn isFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn isUsablePivot(pivot: f32) -> bool {
  return pivot > 0.0 && isFinite(pivot);
}

fn safePivot(c: u32) -> f32 {
  let pivot = block[c * 64u + c];
  return select(1.0, pivot, isUsablePivot(pivot));
}

fn globalIndex(i: u32, j: u32) -> u32 {
  return (params.blockStart + i - params.firstRow) * params.columns + params.blockStart + j;
}

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) t: u32) {
  let n = params.blockSize;
  for (var j = 0u; j < 64u; j++) {
    var value = 0.0;
    if (t < n && j < n && t <= j) { value = A[globalIndex(t, j)]; }
    block[t * 64u + j] = value;
  }

  // Reverse elimination, last column first: row t takes column c's update once column c is final.
  for (var c = n; c > 0u; c--) {
    let col = c - 1u;
    workgroupBarrier();
    if (t == 0u && !isUsablePivot(block[col * 64u + col])) { atomicMax(&status[2], params.blockIndex + 1u); }
    if (t < col) {
      let factor = block[t * 64u + col] / safePivot(col);
      for (var j = t; j < col; j++) { block[t * 64u + j] -= factor * block[j * 64u + col]; }
    }
  }
  workgroupBarrier();

  // Row t of U = R⁻¹ by forward substitution; rows past the block and left of the diagonal are zero.
  var u: array<f32, 64>;
  if (t < n) {
    u[t] = 1.0 / sqrt(safePivot(t));
    for (var j = t + 1u; j < n; j++) {
      var sum = 0.0;
      for (var l = t; l < j; l++) { sum += u[l] * block[l * 64u + j]; }
      u[j] = -sum / safePivot(j);
    }
  }
  for (var j = 0u; j < 64u; j++) {
    let inside = t < n && j < n;
    let value = select(0.0, u[j], inside && j >= t);
    blockInverse[t * 64u + j] = value;
    if (inside) { A[globalIndex(t, j)] = value; }
  }
}

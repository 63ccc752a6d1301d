// cholesky_diagonal_block.wgsl — one 64×64 diagonal block of the reverse (UL) Cholesky factorization A = R·Rᵀ
// (R upper triangular), followed by the inverse of that block: the block is left holding U_kk = R_kk⁻¹.
//
// Why reverse: SparseGPT walks U, the upper Cholesky factor of H⁻¹ (H⁻¹ = Uᵀ·U). If H = R·Rᵀ with R upper, then
// U = R⁻¹: one factorization and one triangular inverse, no explicit H⁻¹. (R = J·L·J for the ordinary lower factor
// L of the reversed matrix J·H·J, which is why the elimination runs from the last column to the first.)
// The block is factored in workgroup memory (16 KiB, the whole WebGPU default): column c is eliminated with an
// unscaled rank-1 update a_ij −= a_ic·a_jc / a_cc of the columns before it, then scaled by 1/sqrt(a_cc). A pivot
// that is not a finite positive number records a failure (the host retries with more dampening) and is replaced
// by 1 so the rest of the run stays finite. The inverse is LAPACK's unblocked in-place one, column by column.
// R_kk itself is never needed again: the panel solve above the block uses U_kk, which is also saved (to this
// block's 64×64 slot of the block-inverse scratch) for the triangular inverse phase.
//
// Bindings: 0 A chunk holding the block's rows (read_write, row stride columns), 1 blockInverse (read_write,
//           this block's 64×64 slot), 2 status (read_write atomic: [2] = 1 + index of the last failed block), 3 params.
// Dispatch: (1, 1, 1) workgroup of 256.

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

fn globalIndex(i: u32, j: u32) -> u32 {
  return (params.blockStart + i - params.firstRow) * params.columns + params.blockStart + j;
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
  let n = params.blockSize;
  for (var e = t; e < 4096u; e += 256u) {
    let i = e / 64u;
    let j = e % 64u;
    var value = 0.0;
    if (j < n && i <= j) { value = A[globalIndex(i, j)]; }
    block[e] = value;
  }

  // Reverse Cholesky: eliminate the last column first.
  for (var c = n; c > 0u; c--) {
    let col = c - 1u;
    workgroupBarrier();
    let pivot = block[col * 64u + col];
    let ok = pivot > 0.0 && isFinite(pivot);
    if (!ok && t == 0u) { atomicMax(&status[2], params.blockIndex + 1u); }
    let safePivot = select(1.0, pivot, ok);
    let area = col * col;
    for (var e = t; e < area; e += 256u) {
      let i = e / col;
      let j = e % col;
      if (i <= j) { block[i * 64u + j] -= block[i * 64u + col] * block[j * 64u + col] / safePivot; }
    }
    workgroupBarrier();
    if (t <= col) {
      let d = sqrt(safePivot);
      if (t == col) { block[col * 64u + col] = d; } else { block[t * 64u + col] /= d; }
    }
  }

  // In-place inverse of the upper triangular block, column by column: U[0:j, j] = −U[0:j, 0:j]·R[0:j, j] / R_jj.
  for (var j = 0u; j < n; j++) {
    workgroupBarrier();
    let diagonal = block[j * 64u + j];
    var s = 0.0;
    if (t < j) {
      for (var l = t; l < j; l++) { s += block[t * 64u + l] * block[l * 64u + j]; }
    }
    workgroupBarrier();
    if (t < j) { block[t * 64u + j] = -s / diagonal; }
    if (t == j) { block[j * 64u + j] = 1.0 / diagonal; }
  }
  workgroupBarrier();

  for (var e = t; e < 4096u; e += 256u) {
    let i = e / 64u;
    let j = e % 64u;
    blockInverse[e] = block[e];
    if (i < n && j < n) { A[globalIndex(i, j)] = block[e]; }
  }
}

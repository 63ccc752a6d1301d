// matmul.wgsl — C[M, N] = A[M, K] · B[K, N], row-major f32, register-tiled with vec4 loads.
//
// Each invocation computes a 4×4 tile of C (4 rows × one vec4 of columns), so every vec4 of B it loads
// is reused for 4 rows and every vec4 of A for 4 columns; no workgroup memory or barriers, which keeps it
// fast both on GPUs (L1-cached) and on CPU-backed adapters where barriers are expensive.
//
// Bindings: 0 A (array<vec4<f32>>, row stride K4 = K/4 vec4s), 1 B (array<vec4<f32>>, row stride N4),
//           2 C (array<vec4<f32>>, row stride N4), 3 uniforms {M, K4, N4}.
// K and N must be multiples of 4 (the host pads); M is arbitrary.
// Dispatch: (ceil(N4 / 8), ceil(M / 32), 1) workgroups of 8×8.

struct Dims { M: u32, K4: u32, N4: u32, _pad: u32 }

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> dims: Dims;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col4 = gid.x;
  let row0 = gid.y * 4u;
  if (col4 >= dims.N4 || row0 >= dims.M) { return; }
  // Rows past M read row M-1 (always valid) and are simply not written back.
  var rows: array<u32, 4>;
  for (var r = 0u; r < 4u; r++) { rows[r] = min(row0 + r, dims.M - 1u); }

  var acc: array<vec4<f32>, 4>;
  for (var k4 = 0u; k4 < dims.K4; k4++) {
    let kRow = k4 * 4u;
    let b0 = B[(kRow + 0u) * dims.N4 + col4];
    let b1 = B[(kRow + 1u) * dims.N4 + col4];
    let b2 = B[(kRow + 2u) * dims.N4 + col4];
    let b3 = B[(kRow + 3u) * dims.N4 + col4];
    for (var r = 0u; r < 4u; r++) {
      let a = A[rows[r] * dims.K4 + k4];
      acc[r] += a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
    }
  }
  for (var r = 0u; r < 4u; r++) {
    if (row0 + r < dims.M) { C[(row0 + r) * dims.N4 + col4] = acc[r]; }
  }
}

// zero_mask_bits.wgsl — the mask a baseline (Wanda, magnitude) left in W, as bits: word k of a row holds bit b set
// where W[row, 32k + b] is 0. The quantizing walk (prune_block_walk.wgsl, pattern 3) keeps those weights at zero
// while the errors it spreads pass over them, as SparseGPT treats its own mask.
//
// Bindings: 0 W part (read, row stride columns), 1 bits (read_write, u32 [partRows, stride]), 2 params.
// Dispatch: (x, y, 1) workgroups of 64 covering partRows · stride words, index x + y·num_workgroups.x.

struct Params {
  columns: u32,
  partRows: u32,
  stride: u32,
}

@group(0) @binding(0) var<storage, read> W: array<f32>;
@group(0) @binding(1) var<storage, read_write> bits: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let index = (wid.x + wid.y * groups.x) * 64u + t;
  if (index >= params.partRows * params.stride) { return; }
  let row = index / params.stride;
  let first = (index % params.stride) * 32u;
  var word = 0u;
  for (var b = 0u; b < 32u && first + b < params.columns; b++) {
    if (W[row * params.columns + first + b] == 0.0) { word |= 1u << b; }
  }
  bits[index] = word;
}

// lazy_batch_update_tiled.wgsl — W[:, blockEnd:] −= Err · U[block, blockEnd:]: the GPU form of lazy_batch_update.wgsl.
//
// A tiled GEMM with workgroup memory: each workgroup of 16×16 invocations updates 64 rows × 64 columns of W. Per
// step along the block it stages 16 columns of Err (64 rows, transposed so that 4 rows of one k are one vec4)
// and 16 rows of the U panel (64 columns) in workgroup memory, each invocation loading one vec4 of each; every
// invocation keeps 4 rows × 4 columns in registers, so each value loaded from memory feeds 64 FMAs instead of the
// register-tiled form's 4. A CPU-backed adapter runs lazy_batch_update.wgsl instead (kernel target 'cpu'), where
// the two barriers per step cost more than the loads they save.
// Same layout, parameters and bindings as lazy_batch_update.wgsl: Err and the U panel are the solver's scratch
// with row strides that are multiples of 4 and zero (Err) or finite (U) padding; W keeps its unpadded stride and
// is read and written as scalars once per output. Columns run in vec4 groups from blockEnd rounded down to a
// multiple of 4; outputs left of blockEnd belong to the block itself and are not written.
//
// Bindings: 0 W part (read_write, row stride columns), 1 Err (read, vec4 [partRows, errStride4]), 2 U panel
//           (read, vec4: U[blockStart + p, :] at row p, stride panelStride4), 3 params.
// Dispatch: (ceil((ceil(columns / 4) − floor(blockEnd / 4)) / 16), ceil(partRows / 64), 1) workgroups of 16×16.

struct Params {
  columns: u32,
  partRows: u32,
  blockEnd: u32,
  blockCount: u32,
  errStride4: u32,
  panelStride4: u32,
}

@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<storage, read> Err: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> U: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

const K_TILE = 16u;

// errTile[k * 16 + g]: rows 4g .. 4g + 3 of the tile at block column k. panelTile[k * 16 + c]: columns 4c .. 4c + 3.
var<workgroup> errTile: array<vec4<f32>, 256>;
var<workgroup> panelTile: array<vec4<f32>, 256>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let col4Base = params.blockEnd / 4u + group.x * 16u;
  let rowBase = group.y * 64u;
  let lane = local.y * 16u + local.x;
  let columns4 = (params.columns + 3u) / 4u;
  // Staged per step by this invocation: Err row lane / 4, k4 lane % 4; U panel row lane / 16, col4 lane % 16.
  let errRow = min(rowBase + lane / 4u, params.partRows - 1u);
  let errK4 = lane % 4u;
  let panelK = lane / 16u;
  let panelCol4 = min(col4Base + lane % 16u, columns4 - 1u);
  let k4Count = (params.blockCount + 3u) / 4u;

  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < k4Count * 4u; k0 += K_TILE) {
    let k4 = k0 / 4u + errK4;
    var e = vec4<f32>(0.0);
    if (k4 < k4Count) { e = Err[errRow * params.errStride4 + k4]; }
    for (var c = 0u; c < 4u; c++) {
      errTile[(errK4 * 4u + c) * 16u + (lane / 4u) / 4u][(lane / 4u) % 4u] = e[c];
    }
    // Panel rows past the block are zero in effect: their Err columns are zero (or not staged).
    var u = vec4<f32>(0.0);
    if (k0 + panelK < k4Count * 4u) { u = U[(k0 + panelK) * params.panelStride4 + panelCol4]; }
    panelTile[panelK * 16u + lane % 16u] = u;
    workgroupBarrier();
    for (var k = 0u; k < K_TILE; k++) {
      let rows4 = errTile[k * 16u + local.y];
      let cols4 = panelTile[k * 16u + local.x];
      acc[0] += rows4.x * cols4;
      acc[1] += rows4.y * cols4;
      acc[2] += rows4.z * cols4;
      acc[3] += rows4.w * cols4;
    }
    workgroupBarrier();
  }

  let col4 = col4Base + local.x;
  if (col4 >= columns4) { return; }
  for (var r = 0u; r < 4u; r++) {
    let row = rowBase + local.y * 4u + r;
    if (row >= params.partRows) { break; }
    for (var e = 0u; e < 4u; e++) {
      let col = col4 * 4u + e;
      if (col >= params.blockEnd && col < params.columns) { W[row * params.columns + col] -= acc[r][e]; }
    }
  }
}

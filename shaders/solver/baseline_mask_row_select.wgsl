// baseline_mask_row_select.wgsl — Wanda's unstructured mask: in each output row, zero the k weights with the
// smallest |w|·‖X_j‖₂, exactly k per row, ties broken by column order as a stable sort does (the reference).
// One workgroup per row: a radix select over the metric's bit pattern (four 8-bit passes, histogram in workgroup
// memory) finds the value of rank k; every smaller weight goes, and of those equal to it, the first few in column
// order, counted with a workgroup prefix sum over the row in column order.
//
// Bindings: 0 W part (read_write, row stride columns), 1 columnNorms (read, f32 [columns]), 2 params.
// Dispatch: (x, y, 1) workgroups of 256, one per row of the part, linear index x + y·num_workgroups.x.

struct Params {
  columns: u32,
  partRows: u32,
  k: u32,
}

@group(0) @binding(0) var<storage, read_write> W: array<f32>;
@group(0) @binding(1) var<storage, read> columnNorms: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> bins: array<atomic<u32>, 256>;
var<workgroup> sums: array<u32, 256>;
var<workgroup> found: vec2<u32>;
var<workgroup> equalTaken: u32;

fn metricBits(rowBase: u32, col: u32) -> u32 {
  return bitcast<u32>(abs(W[rowBase + col]) * columnNorms[col]);
}

// Inclusive scan of `value` over the workgroup; every invocation must call it.
fn inclusiveScan(t: u32, value: u32) -> u32 {
  sums[t] = value;
  for (var offset = 1u; offset < 256u; offset <<= 1u) {
    workgroupBarrier();
    var add = 0u;
    if (t >= offset) { add = sums[t - offset]; }
    workgroupBarrier();
    sums[t] += add;
  }
  workgroupBarrier();
  return sums[t];
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let row = wid.x + wid.y * groups.x;
  if (row >= params.partRows) { return; }
  let rowBase = row * params.columns;
  if (t == 0u) { found = vec2<u32>(0u, params.k); }

  for (var digit = 0u; digit < 4u; digit++) {
    let shift = 24u - 8u * digit;
    atomicStore(&bins[t], 0u);
    workgroupBarrier();
    let prefix = found.x;
    for (var col = t; col < params.columns; col += 256u) {
      let bits = metricBits(rowBase, col);
      if (digit == 0u || (bits >> (shift + 8u)) == (prefix >> (shift + 8u))) {
        atomicAdd(&bins[(bits >> shift) & 255u], 1u);
      }
    }
    workgroupBarrier();
    let count = atomicLoad(&bins[t]);
    let rank = found.y;
    let inclusive = inclusiveScan(t, count);
    let below = inclusive - count;
    if (count > 0u && below <= rank && rank < inclusive) { found = vec2<u32>(prefix | (t << shift), rank - below); }
    workgroupBarrier();
  }

  let threshold = found.x;
  let equalToTake = found.y;
  if (t == 0u) { equalTaken = 0u; }
  workgroupBarrier();
  for (var start = 0u; start < params.columns; start += 256u) {
    let col = start + t;
    var bits = 0xffffffffu;
    if (col < params.columns) { bits = metricBits(rowBase, col); }
    let isEqual = select(0u, 1u, bits == threshold);
    let before = workgroupUniformLoad(&equalTaken);
    let inclusive = inclusiveScan(t, isEqual);
    let prune = bits < threshold || (isEqual == 1u && before + inclusive - 1u < equalToTake);
    if (col < params.columns && prune) { W[rowBase + col] = 0.0; }
    workgroupBarrier();
    if (t == 255u) { equalTaken = before + inclusive; }
  }
}

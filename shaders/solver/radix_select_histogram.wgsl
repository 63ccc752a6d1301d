// radix_select_histogram.wgsl — one pass of a GPU radix select: the k-th smallest pruning metric of a column range
// of W, with no CPU round trip. Non-negative f32 values order like their u32 bit patterns, so four passes over the
// bytes (most significant first) pin down the exact bit pattern of the k-th smallest; this pass histograms byte
// `shift/8` of the values whose higher bytes equal the prefix found so far (radix_select_scan.wgsl).
// Metric 0: w² / d², d = U[j, j] read from the U row panel of the current block (SparseGPT's unstructured mask);
// metric 1: |w| (layer-wide magnitude pruning).
//
// Bindings: 0 W part (read, row stride columns), 1 U panel (read, rows = block columns, row stride panelStride;
//           unused by metric 1), 2 state (read: [0] prefix, [1] rank still sought), 3 histogram (read_write atomic,
//           256 bins), 4 params.
// Dispatch: (x, y, 1) workgroups of 256 covering ceil(partRows · colCount / 16384) workgroups, linear index
//           x + y·num_workgroups.x; each invocation classifies 64 values (fewer, fuller workgroups: each one pays
//           two barriers and 256 global atomics, which a CPU-backed adapter feels more than the values).

struct Params {
  columns: u32,
  partRows: u32,
  colStart: u32,
  colCount: u32,
  shift: u32,
  metric: u32,
  panelStride: u32,
}

@group(0) @binding(0) var<storage, read> W: array<f32>;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> histogram: array<atomic<u32>>;
@group(0) @binding(4) var<uniform> params: Params;

const VALUES_PER_WORKGROUP: u32 = 16384u;

var<workgroup> bins: array<atomic<u32>, 256>;

fn metricBits(index: u32) -> u32 {
  let row = index / params.colCount;
  let c = index % params.colCount;
  let w = W[row * params.columns + params.colStart + c];
  if (params.metric == 1u) { return bitcast<u32>(abs(w)); }
  let d = U[c * params.panelStride + params.colStart + c];
  return bitcast<u32>((w * w) / (d * d));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  atomicStore(&bins[t], 0u);
  workgroupBarrier();
  let total = params.partRows * params.colCount;
  let base = (wid.x + wid.y * groups.x) * VALUES_PER_WORKGROUP;
  let prefix = state[0];
  let highShift = params.shift + 8u;
  for (var i = 0u; i < VALUES_PER_WORKGROUP / 256u; i++) {
    let index = base + i * 256u + t;
    if (index >= total) { break; }
    let bits = metricBits(index);
    // For the top byte (shift 24) there are no higher bytes to match; shifting a u32 by 32 is not allowed.
    if (highShift >= 32u || (bits >> highShift) == (prefix >> highShift)) {
      atomicAdd(&bins[(bits >> params.shift) & 255u], 1u);
    }
  }
  workgroupBarrier();
  let count = atomicLoad(&bins[t]);
  if (count > 0u) { atomicAdd(&histogram[t], count); }
}

// radix_select_scan.wgsl — after a radix_select_histogram pass: finds the bin holding the k-th smallest value,
// appends it to the prefix, subtracts the counts of the smaller bins from k, and clears the histogram for the next
// pass. With init = 1 it only resets the state to (prefix 0, rank k) and clears the histogram.
// After the four passes, state[0] is the exact bit pattern of the k-th smallest value and state[1] the number of
// values equal to it that rank below k.
//
// Bindings: 0 histogram (read_write atomic, 256 bins), 1 state (read_write: [0] prefix, [1] rank), 2 params.
// Dispatch: (1, 1, 1) workgroup of 256: each invocation takes and clears one bin, the first one scans.

struct Params {
  shift: u32,
  init: u32,
  rank: u32,
}

@group(0) @binding(0) var<storage, read_write> histogram: array<atomic<u32>>;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> counts: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
  let count = atomicLoad(&histogram[t]);
  atomicStore(&histogram[t], 0u);
  if (params.init != 0u) {
    if (t == 0u) {
      state[0] = 0u;
      state[1] = params.rank;
    }
    return;
  }
  counts[t] = count;
  workgroupBarrier();
  // 256 additions in one invocation beat a parallel scan's eight barrier rounds, on a GPU and even more on a CPU.
  if (t != 0u) { return; }
  var rank = state[1];
  for (var bin = 0u; bin < 256u; bin++) {
    if (rank < counts[bin]) {
      state[0] |= bin << params.shift;
      state[1] = rank;
      return;
    }
    rank -= counts[bin];
  }
}

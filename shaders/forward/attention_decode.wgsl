// attention_decode.wgsl — attention of a few new tokens' queries over a KV cache (generation, one sequence): the keys
// and values of every earlier position are read from the cache, where the block stored them when it first saw them,
// so each step costs one pass over the cache instead of a forward over the whole sequence.
//
// Query row r of the fused q|k|v buffer (the head group's [queries | keys | values] per token, row stride
// rowStride) is the token at position p = queryPosition + r. Query head h reads key/value head h / groupSize of the
// group, whose cached rows start at column cacheColumn + (h / groupSize)·HEAD_DIM of the cache (cacheStride floats per
// position). For each query: out = Σ_j softmax_j(score(q, k_j)) v_j over the cached positions j with
// p − window < j ≤ p (window = 0: every j ≤ p; transformers' sliding_window_overlay), score = scale · q·k_j, or
// softcap · tanh(scale · q·k_j / softcap) where softcap > 0 (Gemma 2), exactly as attention_causal.wgsl scores them;
// written to out[r − outRowOffset, outColumn + h·HEAD_DIM ...] (row stride outStride).
//
// The cache may be split by positions into buffers that each fit one binding: one dispatch per part, in position
// order, each folding its keys into an online-softmax state (running max, running sum, the unnormalised output) kept
// in `state` between dispatches ([rows, heads, HEAD_DIM + 2] floats); the first part starts the state, the last
// writes the output (a cache of one part does both, and never touches `state`).
//
// One workgroup of THREADS per (query row, head). Keys go in tiles of KEY_TILE: the threads score the tile's keys
// (each a strided share), two tree reductions in workgroup memory give the tile's max and sum of exponentials, then
// each thread accumulates its own dimensions of the output (HEAD_DIM / THREADS of them, rounded up) over the tile.
// The reductions are fixed trees, so a result never depends on timing. HEAD_DIM is specialised per model by the host,
// which prepends activations.wgsl for stable_tanh.
//
// Bindings: 0 qkv (read), 1 keys part [partRows, cacheStride] (read), 2 values part (read), 3 state (read_write),
//           4 out (read_write), 5 params.
// Dispatch: (query rows, heads of the group, 1) workgroups of THREADS.

const HEAD_DIM: u32 = 64u;
const THREADS: u32 = 64u;
const KEY_TILE: u32 = 256u;
const DIMS_PER_THREAD: u32 = (HEAD_DIM + THREADS - 1u) / THREADS;
const NEG_LARGE: f32 = -3.0e38;

struct Params {
  queryRowStart: u32,
  queryPosition: u32,
  rowStride: u32,
  groupSize: u32,
  cacheStride: u32,
  cacheColumn: u32,
  partFirst: u32,
  partRows: u32,
  firstPart: u32,
  lastPart: u32,
  outStride: u32,
  outColumn: u32,
  outRowOffset: u32,
  window: u32,
  scale: f32,
  softcap: f32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> state: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> query: array<f32, HEAD_DIM>;
var<workgroup> scores: array<f32, KEY_TILE>;
var<workgroup> reduction: array<f32, THREADS>;

fn reduceMax(lane: u32, value: f32) -> f32 {
  reduction[lane] = value;
  workgroupBarrier();
  for (var stride = THREADS / 2u; stride > 0u; stride = stride / 2u) {
    if (lane < stride) { reduction[lane] = max(reduction[lane], reduction[lane + stride]); }
    workgroupBarrier();
  }
  let result = reduction[0];
  workgroupBarrier();
  return result;
}

fn reduceSum(lane: u32, value: f32) -> f32 {
  reduction[lane] = value;
  workgroupBarrier();
  for (var stride = THREADS / 2u; stride > 0u; stride = stride / 2u) {
    if (lane < stride) { reduction[lane] = reduction[lane] + reduction[lane + stride]; }
    workgroupBarrier();
  }
  let result = reduction[0];
  workgroupBarrier();
  return result;
}

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let row = params.queryRowStart + wid.x;
  let head = wid.y;
  let position = params.queryPosition + row;
  let kvColumn = params.cacheColumn + (head / params.groupSize) * HEAD_DIM;
  for (var d = lane; d < HEAD_DIM; d += THREADS) {
    query[d] = qkv[row * params.rowStride + head * HEAD_DIM + d] * params.scale;
  }

  var acc: array<f32, DIMS_PER_THREAD>;
  var runningMax = NEG_LARGE;
  var runningSum = 0.0;
  let stateBase = (wid.x * groups.y + head) * (HEAD_DIM + 2u);
  if (params.firstPart == 0u) {
    runningMax = state[stateBase];
    runningSum = state[stateBase + 1u];
  }
  for (var k = 0u; k < DIMS_PER_THREAD; k++) {
    let d = lane + k * THREADS;
    acc[k] = 0.0;
    if (params.firstPart == 0u && d < HEAD_DIM) { acc[k] = state[stateBase + 2u + d]; }
  }
  workgroupBarrier();

  // The positions of this part the query sees: [seenStart, seenEnd); the same for the whole workgroup.
  let windowed = params.window > 0u;
  let seenFrom = select(0u, position + 1u - min(params.window, position + 1u), windowed);
  let seenStart = max(seenFrom, params.partFirst);
  let seenEnd = min(position + 1u, params.partFirst + params.partRows);
  for (var tileStart = seenStart; tileStart < seenEnd; tileStart += KEY_TILE) {
    let count = min(KEY_TILE, seenEnd - tileStart);
    var localMax = NEG_LARGE;
    for (var j = lane; j < count; j += THREADS) {
      let keyBase = (tileStart + j - params.partFirst) * params.cacheStride + kvColumn;
      var s = 0.0;
      for (var d = 0u; d < HEAD_DIM; d++) { s += query[d] * keys[keyBase + d]; }
      if (params.softcap > 0.0) { s = params.softcap * stable_tanh(s / params.softcap); }
      scores[j] = s;
      localMax = max(localMax, s);
    }
    let newMax = max(runningMax, reduceMax(lane, localMax));
    let correction = exp(runningMax - newMax);
    var localSum = 0.0;
    for (var j = lane; j < count; j += THREADS) {
      let p = exp(scores[j] - newMax);
      scores[j] = p;
      localSum += p;
    }
    // reduceSum's barriers also make every thread's probabilities visible below.
    let tileSum = reduceSum(lane, localSum);
    for (var k = 0u; k < DIMS_PER_THREAD; k++) {
      let d = lane + k * THREADS;
      if (d < HEAD_DIM) {
        var a = acc[k] * correction;
        for (var j = 0u; j < count; j++) {
          a += scores[j] * values[(tileStart + j - params.partFirst) * params.cacheStride + kvColumn + d];
        }
        acc[k] = a;
      }
    }
    runningSum = runningSum * correction + tileSum;
    runningMax = newMax;
    // The next tile overwrites the scores.
    workgroupBarrier();
  }

  if (params.lastPart != 0u) {
    let inverse = 1.0 / runningSum;
    let outBase = (row - params.outRowOffset) * params.outStride + params.outColumn + head * HEAD_DIM;
    for (var k = 0u; k < DIMS_PER_THREAD; k++) {
      let d = lane + k * THREADS;
      if (d < HEAD_DIM) { out[outBase + d] = acc[k] * inverse; }
    }
    return;
  }
  if (lane == 0u) {
    state[stateBase] = runningMax;
    state[stateBase + 1u] = runningSum;
  }
  for (var k = 0u; k < DIMS_PER_THREAD; k++) {
    let d = lane + k * THREADS;
    if (d < HEAD_DIM) { state[stateBase + 2u + d] = acc[k]; }
  }
}

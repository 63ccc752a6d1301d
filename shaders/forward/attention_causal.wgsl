// attention_causal.wgsl — causal multi-head attention with grouped K/V heads, flash style: keys and values are
// streamed through workgroup memory in tiles of KEY_TILE and folded into an online softmax, so no seq×seq score
// matrix is ever stored.
//
// Input is the fused projection buffer qkv [tokens, rowStride] holding per token the query heads (from column 0),
// the key heads (from keyColumn) and the value heads (from valueColumn), each head headDim wide; tokens are
// independent sequences of seqLen. Query head h reads key/value head h / groupSize (transformers' repeat_kv). For
// query position i: out = Σ_j softmax_j(score(q_i, k_j)) v_j over the keys i − window < j ≤ i (window = 0: every
// j ≤ i; a sliding-window layer's, transformers' sliding_window_overlay), with score = scale · q_i·k_j, or
// softcap · tanh(scale · q_i·k_j / softcap) where softcap > 0 (Gemma 2's attn_logit_softcapping, before the mask),
// written to
// out[qkv row − outRowOffset, outColumn + h·HEAD_DIM ...] (row stride outStride). outColumn lets the heads of one
// head group (a range of key/value heads and the query heads that read them, projected into a buffer of their own
// when the whole q|k|v does not fit one binding) write their columns of the full attention output.
//
// A dispatch covers the query positions [queryStart, queryEnd) of sequences firstSequence, firstSequence + 1, …:
// where the attention output is split into buffers by token ranges (it does not fit one binding), each range's
// queries are attended to on their own and written to their buffer from row 0 (outRowOffset = the range's first
// token). Queries [i0, i1) read keys [max(0, i0 − window + 1), i1) only, key tiles are aligned to multiples of
// KEY_TILE from key 0, and a tile holding no key a query sees leaves that query's state untouched, so a query's
// arithmetic does not depend on which dispatch or query tile it is in: split and whole dispatches give the same
// bits.
//
// One workgroup of QUERY_TILE threads per (query tile, head, sequence), one query row per thread: the thread keeps
// its query and its output accumulator in registers, the workgroup loads each key/value tile cooperatively.
// Key tiles past the tile's last query are skipped (causality), which halves the work on average, and so are
// tiles before the window of its first query.
// HEAD_DIM and KEY_TILE are constants that the host specialises per model (registers are sized by them; the
// two tiles take 2·KEY_TILE·HEAD_DIM·4 bytes of workgroup memory, chosen within the device's limit). The host
// prepends activations.wgsl for stable_tanh.
//
// Bindings: 0 qkv (read), 1 out [rows, outStride], 2 params.
// Dispatch: (ceil((queryEnd − queryStart) / QUERY_TILE), heads, sequences) workgroups of QUERY_TILE.

const HEAD_DIM: u32 = 64u;
const KEY_TILE: u32 = 16u;
const QUERY_TILE: u32 = 32u;
const NEG_LARGE: f32 = -3.0e38;

struct Params {
  seqLen: u32,
  rowStride: u32,
  keyColumn: u32,
  valueColumn: u32,
  outStride: u32,
  groupSize: u32,
  outColumn: u32,
  firstSequence: u32,
  queryStart: u32,
  queryEnd: u32,
  outRowOffset: u32,
  scale: f32,
  window: u32,
  softcap: f32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> keys: array<f32, KEY_TILE * HEAD_DIM>;
var<workgroup> values: array<f32, KEY_TILE * HEAD_DIM>;

@compute @workgroup_size(QUERY_TILE)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let head = wid.y;
  let sequenceStart = (params.firstSequence + wid.z) * params.seqLen;
  let keyHeadColumn = (head / params.groupSize) * HEAD_DIM;
  let firstQuery = params.queryStart + wid.x * QUERY_TILE;
  let query = firstQuery + lane;
  let inRange = query < params.queryEnd;
  let queryRow = sequenceStart + min(query, params.queryEnd - 1u);

  var q: array<f32, HEAD_DIM>;
  var acc: array<f32, HEAD_DIM>;
  for (var d = 0u; d < HEAD_DIM; d++) {
    q[d] = qkv[queryRow * params.rowStride + head * HEAD_DIM + d] * params.scale;
    acc[d] = 0.0;
  }
  var runningMax = NEG_LARGE;
  var runningSum = 0.0;

  // Keys from the window of the tile's first query up to its last query; the same for the whole workgroup, so the
  // barriers stay uniform.
  let keyEnd = min(firstQuery + QUERY_TILE, params.queryEnd);
  let windowed = params.window > 0u;
  let keyStart = select(0u, firstQuery + 1u - min(params.window, firstQuery + 1u), windowed);
  let tiles = (keyEnd + KEY_TILE - 1u) / KEY_TILE;
  // The keys this query sees: [seenFrom, seenTo).
  let seenTo = select(0u, query + 1u, inRange);
  let seenFrom = select(0u, query + 1u - min(params.window, query + 1u), windowed);
  for (var tile = keyStart / KEY_TILE; tile < tiles; tile++) {
    let firstKey = tile * KEY_TILE;
    for (var e = lane; e < KEY_TILE * HEAD_DIM; e += QUERY_TILE) {
      let key = firstKey + e / HEAD_DIM;
      let row = sequenceStart + min(key, params.seqLen - 1u);
      let column = keyHeadColumn + e % HEAD_DIM;
      keys[e] = qkv[row * params.rowStride + params.keyColumn + column];
      values[e] = qkv[row * params.rowStride + params.valueColumn + column];
    }
    workgroupBarrier();
    // Keys past the query (which includes keys past the sequence) and before its window are masked out; the query's
    // own key is never masked, so every row with a query has a finite maximum after the first tile it sees.
    let lo = max(firstKey, seenFrom) - firstKey;
    let hi = min(firstKey + KEY_TILE, max(seenTo, firstKey)) - firstKey;
    if (lo < hi) {
      var scores: array<f32, KEY_TILE>;
      var tileMax = NEG_LARGE;
      for (var j = lo; j < hi; j++) {
        var s = 0.0;
        for (var d = 0u; d < HEAD_DIM; d++) { s += q[d] * keys[j * HEAD_DIM + d]; }
        if (params.softcap > 0.0) { s = params.softcap * stable_tanh(s / params.softcap); }
        scores[j] = s;
        tileMax = max(tileMax, s);
      }
      let newMax = max(runningMax, tileMax);
      let correction = exp(runningMax - newMax);
      runningSum *= correction;
      for (var d = 0u; d < HEAD_DIM; d++) { acc[d] *= correction; }
      for (var j = lo; j < hi; j++) {
        let p = exp(scores[j] - newMax);
        runningSum += p;
        for (var d = 0u; d < HEAD_DIM; d++) { acc[d] += p * values[j * HEAD_DIM + d]; }
      }
      runningMax = newMax;
    }
    workgroupBarrier();
  }
  if (inRange) {
    let inverse = 1.0 / runningSum;
    let outRow = sequenceStart + query - params.outRowOffset;
    for (var d = 0u; d < HEAD_DIM; d++) {
      out[outRow * params.outStride + params.outColumn + head * HEAD_DIM + d] = acc[d] * inverse;
    }
  }
}

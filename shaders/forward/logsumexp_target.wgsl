// logsumexp_target.wgsl — folds one vocabulary slice of logits into a running log-sum-exp per token and picks
// out the target token's logit, so that a token's NLL = max + log(sum) − targetLogit is exact without a
// [tokens, vocab] logits buffer ever existing (the LM head produces the vocabulary in slices).
//
// For token t (state row stateRowStart + t), with this slice's logits L[t, 0..columns) covering vocabulary ids
// [vocabStart, vocabStart + columns):  m' = max(m, max L);  s' = s·exp(m − m') + Σ exp(L − m');  and when
// targets[row] is in the slice, targetLogit = L[t, targets[row] − vocabStart]. State starts as (−3e38, 0, NaN).
//
// Bindings: 0 logits [tokens, columns], 1 targets (i32 per state row, −1 = none), 2 state (vec4: max, sum,
//           target logit, unused) per state row, 3 params.
// Dispatch: one workgroup of 64 per token, spread as (min(tokens, 65535), ceil(tokens / 65535), 1).

struct Params { tokens: u32, columns: u32, vocabStart: u32, stateRowStart: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> state: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

const THREADS = 64u;
var<workgroup> partial: array<f32, THREADS>;

fn reduce(lane: u32, value: f32, isMax: bool) -> f32 {
  workgroupBarrier();
  partial[lane] = value;
  for (var stride = THREADS / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (lane < stride) {
      let other = partial[lane + stride];
      partial[lane] = select(partial[lane] + other, max(partial[lane], other), isMax);
    }
  }
  workgroupBarrier();
  return partial[0];
}

@compute @workgroup_size(THREADS)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lane: u32,
) {
  let token = wid.y * groups.x + wid.x;
  if (token >= params.tokens) { return; }
  let base = token * params.columns;
  var localMax = -3.0e38;
  for (var c = lane; c < params.columns; c += THREADS) { localMax = max(localMax, logits[base + c]); }
  let sliceMax = reduce(lane, localMax, true);
  var localSum = 0.0;
  for (var c = lane; c < params.columns; c += THREADS) { localSum += exp(logits[base + c] - sliceMax); }
  let sliceSum = reduce(lane, localSum, false);
  if (lane != 0u) { return; }
  let row = params.stateRowStart + token;
  var current = state[row];
  let newMax = max(current.x, sliceMax);
  current.y = current.y * exp(current.x - newMax) + sliceSum * exp(sliceMax - newMax);
  current.x = newMax;
  let wanted = targets[row];
  if (wanted >= i32(params.vocabStart) && wanted < i32(params.vocabStart + params.columns)) {
    current.z = logits[base + u32(wanted) - params.vocabStart];
  }
  state[row] = current;
}

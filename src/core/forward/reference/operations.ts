/**
 * Float64 operations of the reference forward (also the GPU kernels' references), each as transformers computes it
 * in eval mode: nn.Linear, GPT-2's Conv1D, RMSNorm (Llama's w·x̂ and Gemma's (1 + w)·x̂), LayerNorm, the
 * activations of ACT2FN, rotate_half RoPE, causal grouped-query attention with sliding windows and soft-capping, and
 * the NLL of a next token.
 */

export type Vector = ArrayLike<number>;

/** Y[t, o] = Σ_i X[t, i]·W[o, i] + bias[o] (nn.Linear; W row-major [out, in]). */
export function referenceLinear(
  X: Vector,
  tokens: number,
  W: Vector,
  out: number,
  features: number,
  bias?: Vector,
) {
  return linearOver(X, tokens, W, out, features, { out: features, in: 1 }, bias);
}

/** GPT-2's Conv1D: Y = X·W + bias with W stored [in, out]. */
export function referenceConv1D(
  X: Vector,
  tokens: number,
  W: Vector,
  features: number,
  out: number,
  bias: Vector,
) {
  return linearOver(X, tokens, W, out, features, { out: 1, in: out }, bias);
}

/** Y[t, o] = bias[o] + Σ_i X[t, i]·W[o·stride.out + i·stride.in], summed in order of i. */
function linearOver(
  X: Vector,
  tokens: number,
  W: Vector,
  out: number,
  features: number,
  stride: { out: number; in: number },
  bias?: Vector,
) {
  const Y = new Float64Array(tokens * out);
  for (let t = 0; t < tokens; t++) {
    for (let o = 0; o < out; o++) {
      let sum = bias ? bias[o] : 0;
      for (let i = 0; i < features; i++) sum += X[t * features + i] * W[o * stride.out + i * stride.in];
      Y[t * out + o] = sum;
    }
  }
  return Y;
}

/**
 * RMSNorm over rows of `features`: x / √(mean x² + eps) · w, or · (1 + w) with `unitOffset` (Gemma's, which stores
 * its weights as offsets from 1). Per-head q/k norms are this over rows of head_dim.
 */
export function referenceRmsNorm(
  X: Vector,
  tokens: number,
  features: number,
  weight: Vector,
  eps: number,
  unitOffset = false,
) {
  const Y = new Float64Array(tokens * features);
  for (let t = 0; t < tokens; t++) {
    let squares = 0;
    for (let i = 0; i < features; i++) squares += X[t * features + i] ** 2;
    const scale = 1 / Math.sqrt(squares / features + eps);
    for (let i = 0; i < features; i++) {
      Y[t * features + i] = X[t * features + i] * scale * (unitOffset ? 1 + weight[i] : weight[i]);
    }
  }
  return Y;
}

export function referenceLayerNorm(
  X: Vector,
  tokens: number,
  features: number,
  weight: Vector,
  bias: Vector,
  eps: number,
) {
  const Y = new Float64Array(tokens * features);
  for (let t = 0; t < tokens; t++) {
    let mean = 0;
    for (let i = 0; i < features; i++) mean += X[t * features + i];
    mean /= features;
    let variance = 0;
    for (let i = 0; i < features; i++) variance += (X[t * features + i] - mean) ** 2;
    variance /= features;
    const scale = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < features; i++) {
      Y[t * features + i] = (X[t * features + i] - mean) * scale * weight[i] + bias[i];
    }
  }
  return Y;
}

function erf(x: number): number {
  // Series for small |x|, continued fraction for large: far below float32 precision everywhere.
  const a = Math.abs(x);
  if (a < 3) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 100; n++) {
      term *= (-a * a) / n;
      const next = term / (2 * n + 1);
      sum += next;
      if (Math.abs(next) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * sum);
  }
  let fraction = 0;
  for (let n = 60; n >= 1; n--) fraction = n / 2 / (a + fraction);
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + fraction);
  return Math.sign(x) * (1 - erfc);
}

export function referenceActivation(name: string, x: number): number {
  switch (name) {
    case 'identity':
      return x;
    case 'relu':
      return Math.max(x, 0);
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'gelu':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    default:
      throw new Error(`no reference for activation ${name}`);
  }
}

/**
 * Rotary embedding on heads of width headDim stored consecutively in each row (from column `column`):
 * x·cos + rotate_half(x)·sin over the first rotaryDim dimensions, with table = ropeTable(...) rows per position.
 */
export function referenceRotary(
  data: Float64Array,
  tokens: number,
  rowStride: number,
  column: number,
  heads: number,
  headDim: number,
  rotaryDim: number,
  table: Float64Array,
  seqLen: number,
) {
  const half = rotaryDim / 2;
  for (let t = 0; t < tokens; t++) {
    const position = t % seqLen;
    for (let h = 0; h < heads; h++) {
      const base = t * rowStride + column + h * headDim;
      const x = data.slice(base, base + rotaryDim);
      for (let i = 0; i < rotaryDim; i++) {
        const pair = i % half;
        const cos = table[(position * half + pair) * 2];
        const sin = table[(position * half + pair) * 2 + 1];
        const rotated = i < half ? -x[i + half] : x[i - half];
        data[base + i] = x[i] * cos + rotated * sin;
      }
    }
  }
}

export interface AttentionOptions {
  /** Sliding window: query i sees keys j with i − window < j ≤ i (transformers' sliding_window_overlay). */
  window?: number;
  /** Scores ← cap · tanh(scores / cap) after scaling, before the mask (Gemma 2's attn_logit_softcapping). */
  softcap?: number;
}

/**
 * Causal softmax attention per sequence, with grouped key/value heads: query head h uses kv head h / (heads /
 * kvHeads). q, k, v are [tokens, heads·headDim] / [tokens, kvHeads·headDim]; returns [tokens, heads·headDim].
 */
export function referenceAttention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  sequences: number,
  seqLen: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  scale: number,
  options: AttentionOptions = {},
) {
  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const out = new Float64Array(sequences * seqLen * qWidth);
  const scores = new Float64Array(seqLen);
  const { window, softcap } = options;
  for (let s = 0; s < sequences; s++) {
    for (let h = 0; h < heads; h++) {
      const kvHead = Math.floor(h / (heads / kvHeads));
      for (let i = 0; i < seqLen; i++) {
        const qi = (s * seqLen + i) * qWidth + h * headDim;
        const first = window === undefined ? 0 : Math.max(0, i - window + 1);
        let max = -Infinity;
        for (let j = first; j <= i; j++) {
          const kj = (s * seqLen + j) * kvWidth + kvHead * headDim;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += q[qi + d] * k[kj + d];
          scores[j] = softcap === undefined ? dot * scale : softcap * Math.tanh((dot * scale) / softcap);
          max = Math.max(max, scores[j]);
        }
        let total = 0;
        for (let j = first; j <= i; j++) {
          scores[j] = Math.exp(scores[j] - max);
          total += scores[j];
        }
        for (let j = first; j <= i; j++) {
          const vj = (s * seqLen + j) * kvWidth + kvHead * headDim;
          const p = scores[j] / total;
          for (let d = 0; d < headDim; d++) out[qi + d] += p * v[vj + d];
        }
      }
    }
  }
  return out;
}

/** −log softmax(logits)[target] per row; NaN where target < 0. */
export function referenceNllFromLogits(logits: Float64Array, vocab: number, targets: ArrayLike<number>) {
  const tokens = targets.length;
  const result = new Float64Array(tokens);
  for (let t = 0; t < tokens; t++) {
    if (targets[t] < 0) {
      result[t] = Number.NaN;
      continue;
    }
    let max = -Infinity;
    for (let c = 0; c < vocab; c++) max = Math.max(max, logits[t * vocab + c]);
    let sum = 0;
    for (let c = 0; c < vocab; c++) sum += Math.exp(logits[t * vocab + c] - max);
    result[t] = max + Math.log(sum) - logits[t * vocab + targets[t]];
  }
  return result;
}

/** Gemma 2's soft-capping: cap · tanh(x / cap) elementwise. */
export function referenceSoftcap(values: Float64Array, cap: number): Float64Array {
  return values.map((x) => cap * Math.tanh(x / cap));
}

export function add(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

export function columns(X: Float64Array, tokens: number, width: number, start: number, count: number) {
  const out = new Float64Array(tokens * count);
  for (let t = 0; t < tokens; t++)
    out.set(X.subarray(t * width + start, t * width + start + count), t * count);
  return out;
}

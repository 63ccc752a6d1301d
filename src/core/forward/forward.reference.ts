/**
 * Float64 CPU forward of LlamaForCausalLM, OPTForCausalLM and GPT2LMHeadModel, written from the transformers
 * modelling code (eval mode, no dropout, all-ones attention mask): the reference the GPU kernels and the GPU
 * forward are tested against. It names tensors itself (not through architecture.ts) so that a wrong description
 * there shows up as a disagreement. Block by block, like the GPU forward, with the same capture points, so the
 * pipeline can run a float64 sequential pruning in its tests.
 */
import type { ModelConfig } from '../model/types';
import { ropeTable } from './rope';

export type ReferenceTensors = (name: string) => Float32Array | Float64Array;

export interface ReferenceShape {
  sequences: number;
  seqLen: number;
  positionOffset?: number;
}

/** Called with the input of each group of linears: attention, attention_output, mlp, mlp_output. */
export type ReferenceCapture = (role: string, X: Float64Array, tokens: number) => void;

type Vector = ArrayLike<number>;

// ---------------------------------------------------------------- operations (also the kernels' references)

/** Y[t, o] = Σ_i X[t, i]·W[o, i] + bias[o] (nn.Linear; W row-major [out, in]). */
export function referenceLinear(
  X: Vector,
  tokens: number,
  W: Vector,
  out: number,
  features: number,
  bias?: Vector,
) {
  const Y = new Float64Array(tokens * out);
  for (let t = 0; t < tokens; t++) {
    for (let o = 0; o < out; o++) {
      let sum = bias ? bias[o] : 0;
      for (let i = 0; i < features; i++) sum += X[t * features + i] * W[o * features + i];
      Y[t * out + o] = sum;
    }
  }
  return Y;
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
  const Y = new Float64Array(tokens * out);
  for (let t = 0; t < tokens; t++) {
    for (let o = 0; o < out; o++) {
      let sum = bias[o];
      for (let i = 0; i < features; i++) sum += X[t * features + i] * W[i * out + o];
      Y[t * out + o] = sum;
    }
  }
  return Y;
}

export function referenceRmsNorm(X: Vector, tokens: number, features: number, weight: Vector, eps: number) {
  const Y = new Float64Array(tokens * features);
  for (let t = 0; t < tokens; t++) {
    let squares = 0;
    for (let i = 0; i < features; i++) squares += X[t * features + i] ** 2;
    const scale = 1 / Math.sqrt(squares / features + eps);
    for (let i = 0; i < features; i++) Y[t * features + i] = X[t * features + i] * scale * weight[i];
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
) {
  const qWidth = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const out = new Float64Array(sequences * seqLen * qWidth);
  const scores = new Float64Array(seqLen);
  for (let s = 0; s < sequences; s++) {
    for (let h = 0; h < heads; h++) {
      const kvHead = Math.floor(h / (heads / kvHeads));
      for (let i = 0; i < seqLen; i++) {
        const qi = (s * seqLen + i) * qWidth + h * headDim;
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          const kj = (s * seqLen + j) * kvWidth + kvHead * headDim;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += q[qi + d] * k[kj + d];
          scores[j] = dot * scale;
          max = Math.max(max, scores[j]);
        }
        let total = 0;
        for (let j = 0; j <= i; j++) {
          scores[j] = Math.exp(scores[j] - max);
          total += scores[j];
        }
        for (let j = 0; j <= i; j++) {
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

function add(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

function columns(X: Float64Array, tokens: number, width: number, start: number, count: number) {
  const out = new Float64Array(tokens * count);
  for (let t = 0; t < tokens; t++)
    out.set(X.subarray(t * width + start, t * width + start + count), t * count);
  return out;
}

// ---------------------------------------------------------------- models

/** The tensor name prefix this checkpoint uses, from the names transformers saves under. */
function prefixOf(config: ModelConfig, has: (name: string) => boolean): string {
  const options: Record<string, Array<[string, string]>> = {
    llama: [
      ['model.', 'model.embed_tokens.weight'],
      ['', 'embed_tokens.weight'],
    ],
    opt: [
      ['model.decoder.', 'model.decoder.embed_tokens.weight'],
      ['decoder.', 'decoder.embed_tokens.weight'],
    ],
    gpt2: [
      ['transformer.', 'transformer.wte.weight'],
      ['', 'wte.weight'],
    ],
  };
  const found = options[config.family].find(([, name]) => has(name));
  if (!found) throw new Error(`no ${config.family} embedding tensor in this checkpoint`);
  return found[0];
}

export class ReferenceModel {
  readonly prefix: string;
  private readonly names: Set<string>;

  constructor(
    readonly config: ModelConfig,
    private readonly tensor: ReferenceTensors,
    tensorNames: Iterable<string>,
  ) {
    this.names = new Set(tensorNames);
    this.prefix = prefixOf(config, (n) => this.names.has(n));
  }

  private t(name: string) {
    return this.tensor(name);
  }

  embed(ids: ArrayLike<number>, shape: ReferenceShape): Float64Array {
    const { config, prefix } = this;
    const tokens = ids.length;
    const offset = shape.positionOffset ?? 0;
    const H = config.hiddenSize;
    const table = this.t(`${prefix}${config.family === 'gpt2' ? 'wte' : 'embed_tokens'}.weight`);
    const embedDim = table.length / config.vocabSize;
    let hidden = new Float64Array(tokens * embedDim);
    for (let t = 0; t < tokens; t++) {
      hidden.set(table.subarray(ids[t] * embedDim, (ids[t] + 1) * embedDim), t * embedDim);
    }
    if (config.family === 'llama') return hidden;
    if (config.family === 'opt' && embedDim !== H) {
      hidden = referenceLinear(hidden, tokens, this.t(`${prefix}project_in.weight`), H, embedDim);
    }
    // OPT: positions cumsum(mask)·mask − 1 + 2; GPT-2: arange. With a full mask both are the token index (+ offset).
    const positions = this.t(`${prefix}${config.family === 'gpt2' ? 'wpe' : 'embed_positions'}.weight`);
    const positionOffset = config.family === 'opt' ? 2 : 0;
    for (let t = 0; t < tokens; t++) {
      const p = offset + (t % shape.seqLen) + positionOffset;
      for (let i = 0; i < H; i++) hidden[t * H + i] += positions[p * H + i];
    }
    return hidden;
  }

  block(
    index: number,
    hidden: Float64Array,
    shape: ReferenceShape,
    capture?: ReferenceCapture,
  ): Float64Array {
    switch (this.config.family) {
      case 'llama':
        return this.llamaBlock(index, hidden, shape, capture);
      case 'opt':
        return this.optBlock(index, hidden, shape, capture);
      case 'gpt2':
        return this.gpt2Block(index, hidden, shape, capture);
    }
  }

  /** Final norm, (project_out), LM head: logits [tokens, vocab]. */
  logits(hidden: Float64Array): Float64Array {
    const { config, prefix } = this;
    const H = config.hiddenSize;
    const tokens = hidden.length / H;
    let x = hidden;
    if (config.family === 'llama') {
      x = referenceRmsNorm(x, tokens, H, this.t(`${prefix}norm.weight`), config.norm.eps);
    } else if (config.family === 'gpt2') {
      x = referenceLayerNorm(
        x,
        tokens,
        H,
        this.t(`${prefix}ln_f.weight`),
        this.t(`${prefix}ln_f.bias`),
        config.norm.eps,
      );
    } else if (this.names.has(`${prefix}final_layer_norm.weight`)) {
      const w = this.t(`${prefix}final_layer_norm.weight`);
      x = referenceLayerNorm(x, tokens, H, w, this.t(`${prefix}final_layer_norm.bias`), config.norm.eps);
    }
    let width = H;
    if (config.family === 'opt' && this.names.has(`${prefix}project_out.weight`)) {
      const W = this.t(`${prefix}project_out.weight`);
      width = W.length / H;
      x = referenceLinear(x, tokens, W, width, H);
    }
    const embedding = `${prefix}${config.family === 'gpt2' ? 'wte' : 'embed_tokens'}.weight`;
    const head = config.tiedEmbeddings ? this.t(embedding) : this.t('lm_head.weight');
    return referenceLinear(x, tokens, head, config.vocabSize, width);
  }

  nll(hidden: Float64Array, targets: ArrayLike<number>): Float64Array {
    return referenceNllFromLogits(this.logits(hidden), this.config.vocabSize, targets);
  }

  /** Embedding, every block, head: per-token NLL of ids[t + 1] within each sequence (last position NaN). */
  forwardNll(ids: ArrayLike<number>, shape: ReferenceShape): Float64Array {
    let hidden = this.embed(ids, shape);
    for (let i = 0; i < this.config.numLayers; i++) hidden = this.block(i, hidden, shape);
    const targets = Array.from(ids, (_, t) => ((t + 1) % shape.seqLen === 0 ? -1 : ids[t + 1]));
    return this.nll(hidden, targets);
  }

  // LlamaDecoderLayer: h = x + o(attn(rmsnorm(x))); out = h + down(silu(gate(n)) · up(n)), n = rmsnorm(h).
  private llamaBlock(index: number, x: Float64Array, shape: ReferenceShape, capture?: ReferenceCapture) {
    const c = this.config;
    const p = `${this.prefix}layers.${index}.`;
    const H = c.hiddenSize;
    const tokens = x.length / H;
    const qWidth = c.numHeads * c.headDim;
    const kvWidth = c.numKvHeads * c.headDim;
    const bias = (name: string, present: boolean) => (present ? this.t(`${p}${name}.bias`) : undefined);
    const n1 = referenceRmsNorm(x, tokens, H, this.t(`${p}input_layernorm.weight`), c.norm.eps);
    capture?.('attention', n1, tokens);
    const q = referenceLinear(
      n1,
      tokens,
      this.t(`${p}self_attn.q_proj.weight`),
      qWidth,
      H,
      bias('self_attn.q_proj', c.biases.qkv),
    );
    const k = referenceLinear(
      n1,
      tokens,
      this.t(`${p}self_attn.k_proj.weight`),
      kvWidth,
      H,
      bias('self_attn.k_proj', c.biases.qkv),
    );
    const v = referenceLinear(
      n1,
      tokens,
      this.t(`${p}self_attn.v_proj.weight`),
      kvWidth,
      H,
      bias('self_attn.v_proj', c.biases.qkv),
    );
    if (c.positional.kind !== 'rope') throw new Error('llama needs rope');
    const rotaryDim = Math.floor(c.headDim * c.positional.partialRotaryFactor);
    const table = ropeTable(
      { theta: c.positional.theta, rotaryDim, scaling: c.positional.scaling, maxPositions: c.maxPositions },
      shape.seqLen,
      shape.positionOffset ?? 0,
    );
    referenceRotary(q, tokens, qWidth, 0, c.numHeads, c.headDim, rotaryDim, table, shape.seqLen);
    referenceRotary(k, tokens, kvWidth, 0, c.numKvHeads, c.headDim, rotaryDim, table, shape.seqLen);
    const scale = 1 / Math.sqrt(c.headDim);
    const a = referenceAttention(
      q,
      k,
      v,
      shape.sequences,
      shape.seqLen,
      c.numHeads,
      c.numKvHeads,
      c.headDim,
      scale,
    );
    capture?.('attention_output', a, tokens);
    const h = add(
      x,
      referenceLinear(
        a,
        tokens,
        this.t(`${p}self_attn.o_proj.weight`),
        H,
        qWidth,
        bias('self_attn.o_proj', c.biases.o),
      ),
    );
    const n2 = referenceRmsNorm(h, tokens, H, this.t(`${p}post_attention_layernorm.weight`), c.norm.eps);
    capture?.('mlp', n2, tokens);
    const I = c.intermediateSize;
    const gate = referenceLinear(
      n2,
      tokens,
      this.t(`${p}mlp.gate_proj.weight`),
      I,
      H,
      bias('mlp.gate_proj', c.biases.mlp),
    );
    const up = referenceLinear(
      n2,
      tokens,
      this.t(`${p}mlp.up_proj.weight`),
      I,
      H,
      bias('mlp.up_proj', c.biases.mlp),
    );
    const act = gate.map((g, i) => referenceActivation(c.activation, g) * up[i]);
    capture?.('mlp_output', act, tokens);
    return add(
      h,
      referenceLinear(
        act,
        tokens,
        this.t(`${p}mlp.down_proj.weight`),
        H,
        I,
        bias('mlp.down_proj', c.biases.mlp),
      ),
    );
  }

  // OPTDecoderLayer with do_layer_norm_before either way; q is scaled by head_dim^-0.5 after its bias.
  private optBlock(index: number, x: Float64Array, shape: ReferenceShape, capture?: ReferenceCapture) {
    const c = this.config;
    const p = `${this.prefix}layers.${index}.`;
    const H = c.hiddenSize;
    const tokens = x.length / H;
    const t = (name: string) => this.t(`${p}${name}`);
    const layerNorm = (input: Float64Array, name: string) =>
      referenceLayerNorm(input, tokens, H, t(`${name}.weight`), t(`${name}.bias`), c.norm.eps);
    const before = c.doLayerNormBefore;

    const attentionIn = before ? layerNorm(x, 'self_attn_layer_norm') : x;
    capture?.('attention', attentionIn, tokens);
    const scale = 1 / Math.sqrt(c.headDim);
    const q = referenceLinear(
      attentionIn,
      tokens,
      t('self_attn.q_proj.weight'),
      H,
      H,
      t('self_attn.q_proj.bias'),
    ).map((value) => value * scale);
    const k = referenceLinear(
      attentionIn,
      tokens,
      t('self_attn.k_proj.weight'),
      H,
      H,
      t('self_attn.k_proj.bias'),
    );
    const v = referenceLinear(
      attentionIn,
      tokens,
      t('self_attn.v_proj.weight'),
      H,
      H,
      t('self_attn.v_proj.bias'),
    );
    const a = referenceAttention(
      q,
      k,
      v,
      shape.sequences,
      shape.seqLen,
      c.numHeads,
      c.numHeads,
      c.headDim,
      1,
    );
    capture?.('attention_output', a, tokens);
    let h = add(
      x,
      referenceLinear(a, tokens, t('self_attn.out_proj.weight'), H, H, t('self_attn.out_proj.bias')),
    );
    if (!before) h = layerNorm(h, 'self_attn_layer_norm');

    const mlpIn = before ? layerNorm(h, 'final_layer_norm') : h;
    capture?.('mlp', mlpIn, tokens);
    const F = c.intermediateSize;
    const f = referenceLinear(mlpIn, tokens, t('fc1.weight'), F, H, t('fc1.bias')).map((value) =>
      referenceActivation(c.activation, value),
    );
    capture?.('mlp_output', f, tokens);
    const out = add(h, referenceLinear(f, tokens, t('fc2.weight'), H, F, t('fc2.bias')));
    return before ? out : layerNorm(out, 'final_layer_norm');
  }

  // GPT2Block: h = x + c_proj(attn(split(c_attn(ln_1(x))))); out = h + mlp.c_proj(gelu_new(c_fc(ln_2(h)))).
  private gpt2Block(index: number, x: Float64Array, shape: ReferenceShape, capture?: ReferenceCapture) {
    const c = this.config;
    const p = `${this.prefix}h.${index}.`;
    const H = c.hiddenSize;
    const tokens = x.length / H;
    const t = (name: string) => this.t(`${p}${name}`);
    const n1 = referenceLayerNorm(x, tokens, H, t('ln_1.weight'), t('ln_1.bias'), c.norm.eps);
    capture?.('attention', n1, tokens);
    const qkv = referenceConv1D(n1, tokens, t('attn.c_attn.weight'), H, 3 * H, t('attn.c_attn.bias'));
    const q = columns(qkv, tokens, 3 * H, 0, H);
    const k = columns(qkv, tokens, 3 * H, H, H);
    const v = columns(qkv, tokens, 3 * H, 2 * H, H);
    const scale = 1 / Math.sqrt(c.headDim);
    const a = referenceAttention(
      q,
      k,
      v,
      shape.sequences,
      shape.seqLen,
      c.numHeads,
      c.numHeads,
      c.headDim,
      scale,
    );
    capture?.('attention_output', a, tokens);
    const h = add(x, referenceConv1D(a, tokens, t('attn.c_proj.weight'), H, H, t('attn.c_proj.bias')));
    const n2 = referenceLayerNorm(h, tokens, H, t('ln_2.weight'), t('ln_2.bias'), c.norm.eps);
    capture?.('mlp', n2, tokens);
    const F = c.intermediateSize;
    const f = referenceConv1D(n2, tokens, t('mlp.c_fc.weight'), H, F, t('mlp.c_fc.bias')).map((value) =>
      referenceActivation(c.activation, value),
    );
    capture?.('mlp_output', f, tokens);
    return add(h, referenceConv1D(f, tokens, t('mlp.c_proj.weight'), F, H, t('mlp.c_proj.bias')));
  }
}

/**
 * Float64 sparse mixture-of-experts MLP, written from huggingface/transformers @ 00d4b3d2 (4.57 development):
 * MixtralSparseMoeBlock (modeling_mixtral.py) — router logits = gate(x), softmax over the experts, the top-k
 * probabilities renormalised to sum 1, out = Σ_k w_k · w2(act(w1 x) · w3 x) — and Qwen3MoeSparseMoeBlock
 * (modeling_qwen3_moe.py), the same with experts named gate_proj / up_proj / down_proj and the renormalisation only
 * when norm_topk_prob. The routing weight multiplies the expert's output, so an expert's down projection reads
 * act(gate x) · up x unweighted. Equal probabilities go to the lower expert index.
 *
 * For calibration each expert's inputs are captured: the rows of the tokens routed to it, or of every token where
 * the model calibrates every expert on all of them; an expert without tokens is not captured at all.
 */
import type { MoeConfig } from '../../model/types';
import { referenceActivation, referenceLinear } from './operations';
import type { BlockContext } from './types';

export interface Routing {
  /** [tokens, topK]: the chosen experts of each token, most probable first. */
  experts: Int32Array;
  /** [tokens, topK]: their weights. */
  weights: Float64Array;
}

/** Softmax over the router logits, top-k, optionally renormalised. */
export function referenceRoute(
  x: ArrayLike<number>,
  tokens: number,
  features: number,
  router: ArrayLike<number>,
  moe: Pick<MoeConfig, 'experts' | 'topK' | 'normalizeTopK'>,
): Routing {
  const { experts: E, topK } = moe;
  const logits = referenceLinear(x, tokens, router, E, features);
  const chosen = new Int32Array(tokens * topK);
  const weights = new Float64Array(tokens * topK);
  for (let t = 0; t < tokens; t++) {
    const row = logits.subarray(t * E, (t + 1) * E);
    const max = Math.max(...row);
    const exp = Array.from(row, (l) => Math.exp(l - max));
    const total = exp.reduce((a, b) => a + b, 0);
    const order = exp.map((_, e) => e).sort((a, b) => exp[b] - exp[a] || a - b);
    let kept = 0;
    for (let k = 0; k < topK; k++) kept += exp[order[k]] / total;
    for (let k = 0; k < topK; k++) {
      chosen[t * topK + k] = order[k];
      weights[t * topK + k] = exp[order[k]] / total / (moe.normalizeTopK ? kept : 1);
    }
  }
  return { experts: chosen, weights };
}

/** The MoE MLP of layer `layer` ("model.layers.3") on the normalised hidden states `x`. */
export function referenceSparseMoe(ctx: BlockContext, layer: string, x: Float64Array): Float64Array {
  const { config: c, capture } = ctx;
  const moe = c.moe;
  if (!moe) throw new Error(`${c.modelType} has no experts`);
  const H = c.hiddenSize;
  const I = moe.expertIntermediateSize;
  const tokens = x.length / H;
  const mixtral = moe.layout === 'mixtral';
  const base = mixtral ? `${layer}.block_sparse_moe.` : `${layer}.mlp.`;
  const routing = referenceRoute(x, tokens, H, ctx.t(`${base}gate.weight`), moe);
  const out = new Float64Array(tokens * H);
  for (let e = 0; e < moe.experts; e++) {
    const weightOf = new Map<number, number>();
    for (let i = 0; i < routing.experts.length; i++) {
      if (routing.experts[i] === e) weightOf.set(Math.floor(i / moe.topK), routing.weights[i]);
    }
    const rows =
      ctx.expertCalibration === 'all'
        ? Array.from({ length: tokens }, (_, t) => t)
        : [...weightOf.keys()].sort((a, b) => a - b);
    if (rows.length === 0) continue;
    const X = new Float64Array(rows.length * H);
    for (const [r, t] of rows.entries()) X.set(x.subarray(t * H, (t + 1) * H), r * H);
    const expert = (part: string) => ctx.t(`${base}experts.${e}.${part}.weight`);
    capture?.('mlp', X, rows.length, e);
    const gate = referenceLinear(X, rows.length, expert(mixtral ? 'w1' : 'gate_proj'), I, H);
    const up = referenceLinear(X, rows.length, expert(mixtral ? 'w3' : 'up_proj'), I, H);
    const activated = gate.map((g, i) => referenceActivation(c.activation, g) * up[i]);
    capture?.('mlp_output', activated, rows.length, e);
    const y = referenceLinear(activated, rows.length, expert(mixtral ? 'w2' : 'down_proj'), H, I);
    for (const [r, t] of rows.entries()) {
      const weight = weightOf.get(t);
      if (weight === undefined) continue;
      for (let i = 0; i < H; i++) out[t * H + i] += weight * y[r * H + i];
    }
  }
  return out;
}

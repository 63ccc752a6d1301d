/**
 * Mixture-of-experts routing of one token slice, on the host: the router's logits (computed on the GPU) are read
 * back, and for each token a softmax over the experts, the top-k experts (equal probabilities to the lower index)
 * and their weights, renormalised to sum 1 where the model says so (Mixtral always, Qwen3-MoE's norm_topk_prob), as
 * transformers' MixtralSparseMoeBlock and Qwen3MoeSparseMoeBlock route. The host needs each expert's tokens anyway
 * (how many rows its matmuls and its Hessian take, which experts to skip), so the readback is unavoidable; the
 * softmax over at most a few hundred logits per token costs nothing next to it, and runs in float64.
 *
 * The result is one u32 buffer for the GPU: per expert the rows of the slice it reads (gathered from the normalised
 * states) and the routes of its output back to the residual stream (destination row, source row, weight bits).
 * Calibrating every expert on every token (llm-compressor's option for rarely routed experts) gathers all rows but
 * returns only the routed ones, so the block's output is the model's either way.
 */
import type { MoeSpec } from './architecture';

export interface ExpertRoutes {
  expert: number;
  /** Where this expert's gathered row ids start in the buffer, and how many. */
  gatherStart: number;
  gathered: number;
  /** Where its (destination, source, weight) triples start, and how many. */
  routeStart: number;
  routes: number;
}

export interface SliceRouting {
  data: Uint32Array;
  /** The experts with at least one gathered row, in expert order. */
  experts: ExpertRoutes[];
}

/** Each token's top-k experts and weights, from its row of router logits: [tokens][k] pairs. */
export function routeTokens(
  logits: Float32Array,
  tokens: number,
  moe: Pick<MoeSpec, 'experts' | 'topK' | 'normalizeTopK'>,
): Array<Array<[number, number]>> {
  const { experts, topK } = moe;
  if (logits.length < tokens * experts) throw new RangeError('routeTokens: too few router logits');
  const chosen: Array<Array<[number, number]>> = [];
  const probabilities = new Float64Array(experts);
  const order = Array.from({ length: experts }, (_, e) => e);
  for (let t = 0; t < tokens; t++) {
    let max = -Infinity;
    for (let e = 0; e < experts; e++) max = Math.max(max, logits[t * experts + e]);
    let total = 0;
    for (let e = 0; e < experts; e++) {
      probabilities[e] = Math.exp(logits[t * experts + e] - max);
      total += probabilities[e];
    }
    order.sort((a, b) => probabilities[b] - probabilities[a] || a - b);
    let kept = 0;
    for (let k = 0; k < topK; k++) kept += probabilities[order[k]] / total;
    const divisor = moe.normalizeTopK ? kept : 1;
    chosen.push(order.slice(0, topK).map((e) => [e, probabilities[e] / total / divisor]));
  }
  return chosen;
}

/** The slice's routes as one buffer: every token to its top-k experts; with `everyToken`, every row gathered. */
export function planExpertRoutes(
  logits: Float32Array,
  tokens: number,
  moe: Pick<MoeSpec, 'experts' | 'topK' | 'normalizeTopK'>,
  everyToken: boolean,
): SliceRouting {
  const routed: Array<Array<[number, number]>> = Array.from({ length: moe.experts }, () => []);
  routeTokens(logits, tokens, moe).forEach((choices, token) => {
    for (const [expert, weight] of choices) routed[expert].push([token, weight]);
  });
  const words: number[] = [];
  const weightBits = new Uint32Array(new Float32Array(1).buffer);
  const weightValue = new Float32Array(weightBits.buffer);
  const experts: ExpertRoutes[] = [];
  routed.forEach((routes, expert) => {
    const gathered = everyToken ? tokens : routes.length;
    if (gathered === 0) return;
    const gatherStart = words.length;
    if (everyToken) for (let t = 0; t < tokens; t++) words.push(t);
    else for (const [token] of routes) words.push(token);
    const routeStart = words.length;
    routes.forEach(([token, weight], index) => {
      weightValue[0] = weight;
      words.push(token, everyToken ? token : index, weightBits[0]);
    });
    experts.push({ expert, gatherStart, gathered, routeStart, routes: routes.length });
  });
  return { data: Uint32Array.from(words), experts };
}

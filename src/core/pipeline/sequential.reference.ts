/**
 * Float64 CPU version of the whole sequential pipeline, for the tests: the same calibration and evaluation token
 * windows, each block's linear inputs captured in float64, H = 2XXᵀ/n per input group, each linear pruned by the
 * float64 reference solver (SparseGPT, Wanda or magnitude), the pruned block re-run to feed the next one, and
 * perplexity of the dense and the pruned model. Shares only the architecture's tensor list with the GPU pipeline.
 *
 * Mixtures of experts: each expert's linears get the Hessian of the tokens the router sends to that expert (n = its
 * token count), or of every token with expertCalibration 'all' (llm-compressor's option for rarely routed experts).
 * An expert no calibration token reaches stays dense, with a warning naming it. The router is never pruned.
 */
import { nextTokenTargets, perplexityFromNll } from '../eval/perplexity-windows';
import type { Architecture } from '../forward/architecture';
import { type ExpertCalibration, ReferenceModel } from '../forward/forward.reference';
import {
  hessianReference,
  magnitudeReference,
  sparsegptReference,
  wandaReference,
} from '../sparsegpt/layer-solver.reference';
import type { PruneSettings } from './types';

export interface ReferenceRun {
  dense: number;
  pruned: number;
  /** Pruned weights [rows = out, cols = in] by tensor name. */
  weights: Map<string, Float64Array>;
  /** Experts left dense because no calibration token was routed to them, named. */
  warnings: string[];
  /** Per input group ("block 0 mlp", "block 0 mlp expert 3"): the calibration tokens its Hessian was taken over. */
  tokens: Map<string, number>;
}

export interface ReferencePruneOptions {
  expertCalibration?: ExpertCalibration;
}

/** The key of a group's Hessian: its role, and its expert where it has one. */
function groupKey(block: number, role: string, expert?: number): string {
  return `block ${block} ${role}${expert === undefined ? '' : ` expert ${expert}`}`;
}

export function referenceSequentialPrune(
  arch: Architecture,
  tensors: Map<string, Float32Array>,
  calibration: { ids: Int32Array; seqLen: number },
  evaluation: { ids: Int32Array; seqLen: number },
  settings: PruneSettings,
  options: ReferencePruneOptions = {},
): ReferenceRun {
  const names = [...tensors.keys()];
  const dense = new ReferenceModel(arch.config, (n) => need(tensors, n), names);
  const current = new Map<string, Float32Array | Float64Array>(tensors);
  const model = new ReferenceModel(arch.config, (n) => need(current, n), names, options);
  const calibShape = { sequences: calibration.ids.length / calibration.seqLen, seqLen: calibration.seqLen };
  const evalShape = { sequences: evaluation.ids.length / evaluation.seqLen, seqLen: evaluation.seqLen };
  const evalTargets = nextTokenTargets(evaluation.ids, evaluation.seqLen);
  const densePerplexity = perplexityFromNll(
    dense.forwardNll(evaluation.ids, evalShape),
    evalTargets,
  ).perplexity;

  const weights = new Map<string, Float64Array>();
  const warnings: string[] = [];
  const groupTokens = new Map<string, number>();
  let calib = model.embed(calibration.ids, calibShape);
  let scored = model.embed(evaluation.ids, evalShape);
  for (let block = 0; block < arch.numBlocks; block++) {
    const hessians = new Map<string, { H: Float64Array; tokens: number }>();
    model.block(block, calib, calibShape, (role, X, tokens, expert) => {
      const key = groupKey(block, role, expert);
      if (hessians.has(key)) throw new Error(`${key} was captured twice`);
      hessians.set(key, { H: hessianReference(X, tokens, X.length / tokens), tokens });
      groupTokens.set(key, tokens);
    });
    const groups = arch.block(block).groups;
    for (const group of groups) {
      const captured = hessians.get(groupKey(block, group.role, group.expert));
      if (!captured && group.expert !== undefined) {
        // One warning per expert, naming all its linears, at its first group.
        if (groups.find((g) => g.expert === group.expert) !== group) continue;
        const linears = groups
          .filter((g) => g.expert === group.expert)
          .flatMap((g) => g.linears.map((l) => l.tensor));
        warnings.push(
          `block ${block}, expert ${group.expert}: no calibration token was routed to it, so ${linears.join(', ')} stay dense`,
        );
        continue;
      }
      if (!captured) throw new Error(`no captured input for ${group.role}`);
      const { H, tokens } = captured;
      for (const linear of group.linears) {
        // GPT-2's Conv1D stores [in, out]: the solver works on [out, in].
        const stored = need(current, linear.tensor);
        const W = linear.transposed ? transposed(stored, linear.cols, linear.rows) : stored;
        const pruned = pruneReference(W, linear.rows, linear.cols, H, tokens, settings);
        current.set(linear.tensor, linear.transposed ? transposed(pruned, linear.rows, linear.cols) : pruned);
        weights.set(linear.tensor, pruned);
      }
    }
    calib = model.block(block, calib, calibShape);
    scored = model.block(block, scored, evalShape);
  }
  const pruned = perplexityFromNll(model.nll(scored, evalTargets), evalTargets).perplexity;
  return { dense: densePerplexity, pruned, weights, warnings, tokens: groupTokens };
}

function pruneReference(
  W: ArrayLike<number>,
  rows: number,
  cols: number,
  H: Float64Array,
  tokens: number,
  settings: PruneSettings,
): Float64Array {
  const { method, sparsity, pattern, blockSize, percdamp } = settings;
  const options = { sparsity, pattern, blockSize, percdamp };
  switch (method) {
    case 'sparsegpt':
      return Float64Array.from(sparsegptReference(W, rows, cols, H, options).W);
    case 'wanda': {
      // ‖X_j‖₂ = sqrt(H_jj · n / 2), as the GPU derives it from the same H.
      const norms = Float64Array.from({ length: cols }, (_, j) => Math.sqrt((H[j * cols + j] * tokens) / 2));
      return Float64Array.from(wandaReference(W, rows, cols, norms, options));
    }
    case 'magnitude':
      return Float64Array.from(magnitudeReference(W, rows, cols, options));
  }
}

function transposed(data: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

function need<T>(map: Map<string, T>, name: string): T {
  const value = map.get(name);
  if (value === undefined) throw new Error(`missing tensor ${name}`);
  return value;
}

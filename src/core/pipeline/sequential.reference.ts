/**
 * Float64 CPU version of the whole sequential pipeline, for the tests: the same calibration and evaluation token
 * windows, each block's linear inputs captured in float64, H = 2XXᵀ/n per input group, each linear pruned by the
 * float64 reference solver (SparseGPT, Wanda or magnitude), the pruned block re-run to feed the next one, and
 * perplexity of the dense and the pruned model. Shares only the architecture's tensor list with the GPU pipeline.
 */
import { nextTokenTargets, perplexityFromNll } from '../eval/perplexity-windows';
import type { Architecture } from '../forward/architecture';
import { ReferenceModel } from '../forward/forward.reference';
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
}

export function referenceSequentialPrune(
  arch: Architecture,
  tensors: Map<string, Float32Array>,
  calibration: { ids: Int32Array; seqLen: number },
  evaluation: { ids: Int32Array; seqLen: number },
  settings: PruneSettings,
): ReferenceRun {
  const names = [...tensors.keys()];
  const dense = new ReferenceModel(arch.config, (n) => need(tensors, n), names);
  const current = new Map<string, Float32Array | Float64Array>(tensors);
  const model = new ReferenceModel(arch.config, (n) => need(current, n), names);
  const calibShape = { sequences: calibration.ids.length / calibration.seqLen, seqLen: calibration.seqLen };
  const evalShape = { sequences: evaluation.ids.length / evaluation.seqLen, seqLen: evaluation.seqLen };
  const evalTargets = nextTokenTargets(evaluation.ids, evaluation.seqLen);
  const densePerplexity = perplexityFromNll(
    dense.forwardNll(evaluation.ids, evalShape),
    evalTargets,
  ).perplexity;

  const weights = new Map<string, Float64Array>();
  let calib = model.embed(calibration.ids, calibShape);
  let scored = model.embed(evaluation.ids, evalShape);
  const tokens = calibration.ids.length;
  for (let block = 0; block < arch.numBlocks; block++) {
    const hessians = new Map<string, Float64Array>();
    model.block(block, calib, calibShape, (role, X) => {
      const features = X.length / tokens;
      hessians.set(role, hessianReference(X, tokens, features));
    });
    for (const group of arch.block(block).groups) {
      const H = hessians.get(group.role);
      if (!H) throw new Error(`no captured input for ${group.role}`);
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
  return { dense: densePerplexity, pruned, weights };
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

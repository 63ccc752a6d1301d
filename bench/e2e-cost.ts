/**
 * Useful FLOPs of each stage of a whole pruning run (a multiply-add is 2), from the architecture and the run's
 * shapes: what bench:e2e divides each stage's wall time by. Only the arithmetic the method needs is counted:
 * the linears and attention of each forward (not norms, rotary or activations, a few per cent), the Hessians'
 * upper triangles, the Cholesky factor and inverse, the walk, the lazy update and the error metric (solver-cost.ts
 * per linear), and the LM head of the evaluation.
 */
import type { Architecture, BlockSpec } from '../src/core/forward/architecture';
import type { RunStageName } from '../src/core/pipeline/run-timings';
import { stepCosts } from './solver-cost';

export interface RunShape {
  /** Calibration sequences × tokens each. */
  nsamples: number;
  seqlen: number;
  /** Evaluation windows scored (0: no evaluation) of seqlen tokens. */
  evalWindows: number;
  blockSize: number;
}

/** Linears and causal attention of one block over `sequences` sequences of `seqlen` tokens. */
export function blockForwardFlops(
  arch: Architecture,
  block: BlockSpec,
  sequences: number,
  seqlen: number,
): number {
  const tokens = sequences * seqlen;
  const linears = block.groups.reduce((sum, g) => sum + 2 * tokens * g.rows * g.features, 0);
  // QKᵀ and P·V over the causal triangle, for every query head.
  const attention = 4 * sequences * arch.heads * arch.headDim * ((seqlen * (seqlen + 1)) / 2);
  return linears + attention;
}

export function stageFlops(arch: Architecture, shape: RunShape): Partial<Record<RunStageName, number>> {
  const tokens = shape.nsamples * shape.seqlen;
  const flops: Partial<Record<RunStageName, number>> = {
    calibrationForward: 0,
    hessians: 0,
    prepare: 0,
    walk: 0,
    lazyUpdate: 0,
    errorMetric: 0,
    rerun: 0,
    evaluation: 0,
  };
  const add = (stage: RunStageName, value: number) => {
    flops[stage] = (flops[stage] ?? 0) + value;
  };
  for (let b = 0; b < arch.numBlocks; b++) {
    const block = arch.block(b);
    const forward = blockForwardFlops(arch, block, shape.nsamples, shape.seqlen);
    add('calibrationForward', forward);
    add('rerun', forward);
    // The dense and the pruned evaluation windows both go through every block.
    add('evaluation', 2 * blockForwardFlops(arch, block, shape.evalWindows, shape.seqlen));
    for (const group of block.groups) {
      const groupCost = stepCosts({ rows: 0, cols: group.features, tokens, blockSize: shape.blockSize });
      add('hessians', groupCost.hessian.flops);
      add('prepare', groupCost.cholesky.flops + groupCost.inverse.flops);
      for (const linear of group.linears) {
        const cost = stepCosts({ rows: linear.rows, cols: linear.cols, tokens, blockSize: shape.blockSize });
        add('walk', cost.walk.flops);
        add('lazyUpdate', cost.lazyUpdate.flops);
        add('errorMetric', cost.error.flops);
      }
    }
  }
  // Dense and pruned logits of every evaluation token.
  add('evaluation', 2 * 2 * shape.evalWindows * shape.seqlen * arch.hiddenSize * arch.vocabSize);
  return flops;
}

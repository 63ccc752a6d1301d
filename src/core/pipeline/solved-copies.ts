/**
 * Copies of some of a block's linears for the solver to prune while the block's own weights stay dense: the
 * pruner solves q|k|v before the block's dense forward has captured the other groups' inputs, and that forward
 * must still see the dense q|k|v. Once it has run, `install` puts the pruned copies in the block's weights, where
 * the re-run and every later read find them.
 */
import type { LinearSpec } from '../forward/architecture';
import type { BlockWeights } from '../forward/block-weights';
import type { GpuContext } from '../gpu/context';
import type { SplitMatrix } from '../gpu/split-matrix';

export class SolvedCopies {
  private readonly copies = new Map<string, SplitMatrix>();

  constructor(
    private readonly ctx: GpuContext,
    private readonly weights: BlockWeights,
  ) {}

  /** A copy of the linear's dense weight, with the same parts (the solver's tiling), to prune in its place. */
  target(linear: LinearSpec): SplitMatrix {
    const live = this.weights.linear(linear.name);
    const copy = live.allocateLike(`${linear.tensor} (solved before the block's forward)`);
    this.copies.set(linear.name, copy);
    const encoder = this.ctx.device.createCommandEncoder();
    live.copyTo(encoder, copy);
    this.ctx.device.queue.submit([encoder.finish()]);
    return copy;
  }

  /** Puts every pruned copy in the block's weights, and frees the copies (the queue finishes the copy first). */
  install(): void {
    if (!this.copies.size) return;
    const encoder = this.ctx.device.createCommandEncoder();
    for (const [name, copy] of this.copies) copy.copyTo(encoder, this.weights.linear(name));
    this.ctx.device.queue.submit([encoder.finish()]);
    this.destroy();
  }

  destroy(): void {
    for (const copy of this.copies.values()) copy.destroy();
    this.copies.clear();
  }
}

/** Progress of a run in steps of roughly equal cost (one pass or one linear), with an ETA from the pace so far. */
import type { PruneEvent } from './types';

export class RunProgress {
  private done = 0;
  private readonly total: number;
  private readonly started = performance.now();

  constructor(
    blocks: number,
    stepsPerBlock: number,
    private readonly emit: (event: PruneEvent) => void,
  ) {
    // One more step stands for the final scoring and writing.
    this.total = blocks * stepsPerBlock + 1;
    this.emit({ type: 'progress', done: 0, total: this.total });
  }

  step(): void {
    this.done = Math.min(this.total - 1, this.done + 1);
    const elapsed = (performance.now() - this.started) / 1000;
    const etaSeconds = (elapsed / this.done) * (this.total - this.done);
    this.emit({ type: 'progress', done: this.done, total: this.total, etaSeconds });
  }

  finish(): void {
    this.done = this.total;
    this.emit({ type: 'progress', done: this.total, total: this.total, etaSeconds: 0 });
  }
}

/**
 * Where a run's time goes: wall time per stage of the pipeline, always measured (the CLI's --json, the app's
 * result and bench:e2e read the same figures), and what the run spent outside arithmetic (pipelines compiled,
 * bytes uploaded and read back, dtype conversion).
 *
 * A stage ends when the GPU has run the work it submitted (one onSubmittedWorkDone each), so GPU time lands in
 * the stage that asked for it, not in the next one that happens to wait. Stages nest: a stage timed inside
 * another (the Hessians inside the calibration forward, checkpoint reads inside the block upload) is taken out of
 * the outer one. The solver's own GPU step timings (timestamps where the adapter has them) split its wall time
 * into mask selection, walk, lazy update and error metric; what they leave is encoding, synchronisation and the
 * small readbacks of its counters (solverOther).
 */
import { activitySince, type GpuActivity, snapshotActivity, type Tally } from '../gpu/activity';
import type { GpuContext } from '../gpu/context';
import { dtypeConversions } from '../io/dtype';

/** The stages, in the order a block goes through them. */
export const RUN_STAGES = [
  'tokenizing',
  'embedding',
  'reading',
  'uploads',
  'calibrationForward',
  'hessians',
  'prepare',
  'select',
  'walk',
  'lazyUpdate',
  'errorMetric',
  'solverOther',
  'readback',
  'conversion',
  'writing',
  'saving',
  'rerun',
  'evaluation',
] as const;

export type RunStageName = (typeof RUN_STAGES)[number];

export const STAGE_DESCRIPTIONS: Record<RunStageName, string> = {
  tokenizing: 'tokenizing the texts',
  embedding: 'embedding lookup of the samples and windows',
  reading: 'checkpoint reads (with dtype conversion to f32)',
  uploads: 'block weights to the GPU',
  calibrationForward: "each block's forward with dense weights",
  hessians: 'H = 2XXᵀ/n from the captured inputs',
  prepare: 'dampening, Cholesky and inverse (U)',
  select: 'unstructured mask threshold (radix select)',
  walk: 'column walk of each 128-column block',
  lazyUpdate: 'lazy batch update of later columns',
  errorMetric: 'reconstruction error and zero counts',
  solverOther: "solver encoding, syncs, counters' readback",
  readback: 'pruned weights back to the CPU',
  conversion: 'layout changes and mask previews on the CPU',
  writing: 'writing the pruned model (dtype encoding included)',
  saving: 'saving finished blocks for resume',
  rerun: 'pruned block again for the next inputs',
  evaluation: 'dense and pruned evaluation windows and the head',
};

export interface RunTimings {
  /** Wall milliseconds of this session per stage (a resumed run's replayed blocks count their forward passes). */
  stages: Record<RunStageName, number>;
  /** This session's wall time, from the pipeline's start to its result. */
  sessionMs: number;
  /** From the pipeline's start to its first layer result (replayed layers of a resumed run included). */
  firstResultMs?: number;
  /** The stages' wall milliseconds up to the first layer result: what the run did before it could show one. */
  stagesBeforeFirstResult?: Record<RunStageName, number>;
  /** Compute pipelines compiled during the run, and the time in blocking compiles. */
  pipelines: Tally;
  uploads: Tally;
  readbacks: Tally;
  /** Checkpoint dtype decoding and encoding on the CPU (inside reading and writing). */
  dtypeConversion: Tally;
}

export class RunClock {
  private readonly started = performance.now();
  private readonly stages = Object.fromEntries(RUN_STAGES.map((s) => [s, 0])) as Record<RunStageName, number>;
  /** Time of the stages timed inside each open stage, innermost last (the bottom entry is the run itself). */
  private readonly inner: number[] = [0];
  private readonly activity: GpuActivity;
  private readonly conversions = { ...dtypeConversions };
  private firstResultMs?: number;
  private stagesBeforeFirstResult?: Record<RunStageName, number>;

  constructor(private readonly ctx: GpuContext) {
    this.activity = snapshotActivity(ctx.activity);
  }

  /** Runs `work` as `stage`, until the GPU work it submitted has run. */
  async time<T>(stage: RunStageName, work: () => Promise<T> | T): Promise<T> {
    const start = performance.now();
    this.inner.push(0);
    try {
      const value = await work();
      await this.ctx.device.queue.onSubmittedWorkDone();
      return value;
    } finally {
      const nested = this.inner.pop() ?? 0;
      const elapsed = performance.now() - start;
      this.stages[stage] += elapsed - nested;
      this.inner[this.inner.length - 1] += elapsed;
    }
  }

  /** Moves milliseconds that `from` measured as a whole to the stages its own step timings say they were. */
  reassign(from: RunStageName, parts: Partial<Record<RunStageName, number>>): void {
    for (const [stage, ms] of Object.entries(parts) as Array<[RunStageName, number]>) {
      const moved = Math.min(Math.max(0, ms || 0), this.stages[from]);
      this.stages[from] -= moved;
      this.stages[stage] += moved;
    }
  }

  /** Marks the first layer result (once). */
  resultReady(): void {
    if (this.firstResultMs !== undefined) return;
    this.firstResultMs = performance.now() - this.started;
    this.stagesBeforeFirstResult = { ...this.stages };
  }

  result(): RunTimings {
    const activity = activitySince(this.ctx.activity, this.activity);
    return {
      stages: { ...this.stages },
      sessionMs: performance.now() - this.started,
      firstResultMs: this.firstResultMs,
      stagesBeforeFirstResult: this.stagesBeforeFirstResult,
      ...activity,
      dtypeConversion: {
        count: dtypeConversions.count - this.conversions.count,
        bytes: dtypeConversions.bytes - this.conversions.bytes,
        ms: dtypeConversions.ms - this.conversions.ms,
      },
    };
  }
}

/** bench:e2e's table: one run's stages against their useful FLOPs and the matmul peak, then what is not arithmetic. */
import {
  RUN_STAGES,
  type RunStageName,
  type RunTimings,
  STAGE_DESCRIPTIONS,
} from '../src/core/pipeline/run-timings';
import type { MatmulPeak } from './matmul-peak';

export interface RunReport {
  model: string;
  run: string;
  adapter: string;
  peak: MatmulPeak;
  flops: Partial<Record<RunStageName, number>>;
  timings: RunTimings;
  /** Milliseconds from the run's start to each block's start. */
  blockStarts: number[];
  verifyMs: number;
  /** Context creation and model opening before the run (cold runs). */
  beforeRunMs?: number;
  /** Blocks replayed from saved progress (a resumed run). */
  resumedBlocks: number;
}

export interface RunSummary {
  seconds: number;
  gflop: number;
  gflops: number;
  peakGflops: number;
  fractionOfPeak: number;
  firstResultSeconds: number;
  firstResultFraction: number;
  /** From the device's creation (the model opened and the remembered pipelines compiled meanwhile) to the first
   * result: what a user who starts a CLI run waits for. */
  firstResultFromDeviceSeconds: number;
  warmUpSeconds: number;
  warmUpFraction: number;
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

export function summarize(report: RunReport): RunSummary {
  const { timings, peak } = report;
  const flop = Object.values(report.flops).reduce((a, b) => a + (b ?? 0), 0);
  // A resumed run did only the blocks after the saved ones: scale the work to what it pruned.
  const blocks = report.blockStarts.length;
  const share = blocks ? (blocks - report.resumedBlocks) / blocks : 1;
  const gflop = (flop / 1e9) * (report.resumedBlocks ? share : 1);
  const seconds = timings.sessionMs / 1000;
  const gflops = gflop / seconds;
  const durations = blockDurations(report.blockStarts, timings.sessionMs).slice(report.resumedBlocks);
  const steady = median(durations.slice(1));
  const warmUp = durations.length > 1 ? Math.max(0, durations[0] - steady) : Number.NaN;
  const first = (timings.firstResultMs ?? Number.NaN) / 1000;
  return {
    seconds,
    gflop,
    gflops,
    peakGflops: peak.gflops,
    fractionOfPeak: gflops / peak.gflops,
    firstResultSeconds: first,
    firstResultFraction: first / seconds,
    firstResultFromDeviceSeconds:
      report.beforeRunMs === undefined ? Number.NaN : first + report.beforeRunMs / 1000,
    warmUpSeconds: warmUp / 1000,
    warmUpFraction: warmUp / timings.sessionMs,
  };
}

/** Each block's span: to the next block's start, the last one to the end of its forward passes. */
function blockDurations(starts: number[], endMs: number): number[] {
  return starts.map((start, i) => (starts[i + 1] ?? endMs) - start);
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

export function printRun(report: RunReport): RunSummary {
  const { timings, peak } = report;
  const summary = summarize(report);
  const total = timings.sessionMs;
  console.log(
    `\n${report.model}, ${report.run} run on ${report.adapter}: matmul peak ${fixed(peak.gflops, 2)} GFLOP/s ` +
      `(matmul.wgsl ${fixed(peak.matmulGflops, 2)}, linear ${fixed(peak.linearGflops, 2)}, ${peak.size}³)`,
  );
  const widths = [20, 10, 7, 9, 9, 7];
  const row = (cells: string[]) =>
    `${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' ')}`;
  console.log(`${row(['stage', 'ms', '% run', 'GFLOP', 'GFLOP/s', '% peak'])}   what`);
  const share = report.resumedBlocks ? 1 - report.resumedBlocks / Math.max(1, report.blockStarts.length) : 1;
  let counted = 0;
  for (const stage of RUN_STAGES) {
    const ms = timings.stages[stage];
    counted += ms;
    const flop = ((report.flops[stage] ?? 0) * share) / 1e9;
    const rate = flop / (ms / 1000);
    const cells = [
      stage,
      fixed(ms, 0),
      fixed((100 * ms) / total, 1),
      flop ? fixed(flop, 2) : '',
      flop ? fixed(rate, 2) : '',
      flop ? fixed((100 * rate) / peak.gflops, 0) : '',
    ];
    console.log(`${row(cells)}   ${STAGE_DESCRIPTIONS[stage]}`);
  }
  console.log(
    row(['(between stages)', fixed(total - counted, 0), fixed((100 * (total - counted)) / total, 1)]),
  );
  const { pipelines, uploads, readbacks, dtypeConversion } = timings;
  console.log(
    `not arithmetic: ${pipelines.count} pipelines compiled (${fixed(pipelines.ms, 0)} ms blocking); uploads ` +
      `${uploads.count} (${mib(uploads.bytes)}, ${fixed(uploads.ms, 0)} ms); readbacks ${readbacks.count} ` +
      `(${mib(readbacks.bytes)}, ${fixed(readbacks.ms, 0)} ms); dtype conversion ${mib(dtypeConversion.bytes)} ` +
      `(${fixed(dtypeConversion.ms, 0)} ms); writing ${fixed(timings.stages.writing, 0)} ms; verifying the ` +
      `written model after the run ${fixed(report.verifyMs, 0)} ms` +
      (report.beforeRunMs !== undefined
        ? `; device and model opened (remembered pipelines compiled meanwhile) in ${fixed(report.beforeRunMs, 0)} ms`
        : ''),
  );
  const before = timings.stagesBeforeFirstResult;
  if (before) {
    const spent = RUN_STAGES.filter((stage) => before[stage] >= 0.5)
      .sort((a, b) => before[b] - before[a])
      .map((stage) => `${stage} ${fixed(before[stage], 0)} ms`);
    console.log(`before the first result: ${spent.join(', ')}`);
  }
  if (Number.isFinite(summary.firstResultFromDeviceSeconds)) {
    console.log(
      `first result ${fixed(summary.firstResultFromDeviceSeconds, 1)} s after the device's creation`,
    );
  }
  console.log(
    `whole run: ${fixed(summary.seconds, 1)} s, ${fixed(summary.gflop, 1)} GFLOP → ${fixed(summary.gflops, 2)} ` +
      `GFLOP/s = ${fixed(100 * summary.fractionOfPeak, 1)}% of the matmul peak; first result after ` +
      `${fixed(summary.firstResultSeconds, 1)} s (${fixed(100 * summary.firstResultFraction, 1)}% of the run); ` +
      `warm-up (first block over the median later one) ${fixed(summary.warmUpSeconds, 1)} s ` +
      `(${fixed(100 * summary.warmUpFraction, 1)}%)`,
  );
  return summary;
}

/**
 * `npm run bench:e2e [-- --hidden 512,1024 --blocks 4 --nsamples 16 --seqlen 256 --runs cold,second,resumed]`
 *
 * Whole pruning runs through the CLI's pipeline (openModel, OutputRun's staged output and progress store,
 * pruneModel, the written model verified and committed), on synthetic Llama checkpoints of realistic proportions
 * written to disk: grouped-query attention (a K/V head per 4 query heads of 64), MLP 8/3 × hidden, BF16 weights.
 * The paper's calibration of 128 × 2048 tokens is scaled down to 16 × 256 (and 4 evaluation windows of 256).
 * For each model it prints, per stage of the run (the pipeline's own always-on breakdown, RunResult.timings),
 * wall time, useful GFLOP and the fraction of the adapter's matmul peak measured in the same process, then what
 * is not arithmetic (pipelines compiled, uploads, readbacks, dtype conversion, writing), the whole run's FLOP rate
 * as a fraction of that peak, and how long the run took to its first result.
 *
 * Runs: cold (a new GPU device, as a CLI process starts, that compiles each pipeline as the run meets it), second
 * (again on the same device, as a second run in the same tab), remembered (a new device that compiles the
 * pipelines the runs before it used, all at once, while the model opens: a second CLI process or a new tab),
 * resumed (a run stopped after half its blocks, then resumed on a new device, as `--resume` does; with the
 * remembered pipelines unless `--warm-up off`). The first result is timed from the device's creation as well.
 * `--llama7b` uses Llama-7B's block (hidden 4096, MLP 11008, 32 heads) with 2 blocks; `--json FILE` writes the
 * figures for scripts/device-check.sh.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { GpuContext } from '../src/core/gpu/context';
import { rememberPipelines, warmUpPipelines } from '../src/core/gpu/pipeline-memory';
import type { FloatDtype } from '../src/core/io/dtype';
import { type OpenedModel, openModel } from '../src/core/pipeline/open-model';
import { progressIdentity } from '../src/core/pipeline/progress-store';
import { pruneModel } from '../src/core/pipeline/prune-model';
import type { RunTimings } from '../src/core/pipeline/run-timings';
import {
  CancelledError,
  DEFAULT_SETTINGS,
  type PruneEvent,
  type PruneSettings,
} from '../src/core/pipeline/types';
import { verifyPrunedOutput } from '../src/core/pipeline/verify-output';
import { openFolder } from '../src/node/files';
import { createNodeGpuContext } from '../src/node/gpu';
import { OutputRun } from '../src/node/output-folder';
import { nodePipelineStore } from '../src/node/pipeline-store';
import { stageFlops } from './e2e-cost';
import { printRun, type RunReport, type RunSummary, summarize } from './e2e-report';
import { matmulPeak } from './matmul-peak';
import { DEMO_DIR, llamaIntermediate, writeSyntheticLlama } from './synthetic-llama';

const { values } = parseArgs({
  options: {
    hidden: { type: 'string', default: '512,1024' },
    blocks: { type: 'string' },
    nsamples: { type: 'string', default: '16' },
    seqlen: { type: 'string', default: '256' },
    'eval-windows': { type: 'string', default: '4' },
    dtype: { type: 'string', default: 'BF16' },
    runs: { type: 'string', default: 'cold,second,remembered,resumed' },
    'warm-up': { type: 'string', default: 'on' },
    llama7b: { type: 'boolean', default: false },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

const RUN_KINDS = ['cold', 'second', 'remembered', 'resumed'] as const;
type RunKind = (typeof RUN_KINDS)[number];
const runs = values.runs.split(',').map((r) => r.trim()) as RunKind[];
for (const run of runs) {
  if (!RUN_KINDS.includes(run)) throw new Error(`--runs takes ${RUN_KINDS.join(', ')} (got "${run}")`);
}

interface ModelShape {
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  layers: number;
}

const shapes: ModelShape[] = values.llama7b
  ? [{ hidden: 4096, intermediate: 11008, heads: 32, kvHeads: 32, layers: Number(values.blocks ?? 2) }]
  : values.hidden.split(',').map((text) => {
      const hidden = Number(text);
      const heads = Math.max(1, hidden / 64);
      return {
        hidden,
        intermediate: llamaIntermediate(hidden),
        heads,
        kvHeads: Math.max(1, heads / 4),
        layers: Number(values.blocks ?? 4),
      };
    });

const calibrationText = await readFile(join(DEMO_DIR, 'calibration.txt'), 'utf8');
const evaluationText = await readFile(join(DEMO_DIR, 'evaluation.txt'), 'utf8');
const evalWindows = Number(values['eval-windows']);
const settingsFor = (): PruneSettings => ({
  ...DEFAULT_SETTINGS,
  sparsity: 0.5,
  nsamples: Number(values.nsamples),
  seqlen: Number(values.seqlen),
  evalMaxWindows: evalWindows > 0 ? evalWindows : undefined,
});

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-e2e-'));
if (!['on', 'off'].includes(values['warm-up'])) throw new Error('--warm-up takes on or off');
/** The CLI's remembered pipelines, in a folder of this benchmark's own (empty at first: the cold run's case). */
const pipelineStore = nodePipelineStore(join(scratch, 'cache'));

/** A new device as the CLI opens one: remembered pipelines compile while the model opens (unless --warm-up off). */
async function openDevice(open: () => Promise<unknown>): Promise<{ ctx: GpuContext; beforeRunMs: number }> {
  const started = performance.now();
  const ctx = await createNodeGpuContext();
  const warmUp = values['warm-up'] === 'on' ? warmUpPipelines(ctx, pipelineStore) : undefined;
  await open();
  const warmed = await warmUp;
  if (warmed?.count)
    console.log(`(${warmed.count} remembered pipelines compiled in ${warmed.ms.toFixed(0)} ms)`);
  return { ctx, beforeRunMs: performance.now() - started };
}
const reports: Array<RunReport & { summary: RunSummary }> = [];

/** One CLI-shaped run: the output staged and verified, the progress store kept for --resume. */
async function cliRun(
  ctx: GpuContext,
  model: OpenedModel,
  fingerprint: string,
  dir: string,
  options: { resume?: boolean; stopAtBlock?: number },
): Promise<{ timings?: RunTimings; blockStarts: number[]; verifyMs: number; stopped: boolean }> {
  const settings = settingsFor();
  const out = join(scratch, 'out');
  const output = await OutputRun.open(out, [{ path: dir, what: 'model folder' }], {
    force: true,
    resume: Boolean(options.resume),
  });
  const progress = await output.openProgress(await progressIdentity(settings, fingerprint, calibrationText));
  const staged = await output.stage();
  const controller = new AbortController();
  const started = performance.now();
  const blockStarts: number[] = [];
  const onEvent = (event: PruneEvent) => {
    if (event.type !== 'block') return;
    blockStarts[event.block] = performance.now() - started;
    if (event.block === options.stopAtBlock) controller.abort();
  };
  try {
    const texts = { calibration: calibrationText, evaluation: evalWindows > 0 ? evaluationText : undefined };
    const { result } = await pruneModel(ctx, model, settings, texts, {
      output: { sinkFor: staged.sinkFor },
      onEvent,
      signal: controller.signal,
      progress: progress.store,
    });
    const verifyStart = performance.now();
    await verifyPrunedOutput(model.checkpoint, await openFolder(staged.path), result.layers);
    const verifyMs = performance.now() - verifyStart;
    await output.commit();
    return { timings: result.timings, blockStarts, verifyMs, stopped: false };
  } catch (error) {
    await output.abandon();
    if (error instanceof CancelledError) return { blockStarts, verifyMs: 0, stopped: true };
    throw error;
  }
}

async function benchModel(shape: ModelShape): Promise<void> {
  const dir = join(scratch, `llama-${shape.hidden}`);
  const dtype = values.dtype as FloatDtype;
  const bytes = await writeSyntheticLlama(dir, { ...shape, dtype });
  const opened = async () => openModel(await openFolder(dir));
  const { model, summary } = await opened();
  const { arch } = model;
  const settings = settingsFor();
  const flops = stageFlops(arch, {
    nsamples: settings.nsamples,
    seqlen: settings.seqlen,
    evalWindows,
    blockSize: settings.blockSize,
  });
  console.log(
    `\nLlama hidden ${shape.hidden}, MLP ${shape.intermediate}, ${shape.heads} heads (${shape.kvHeads} K/V) of ` +
      `${shape.hidden / shape.heads}, ${shape.layers} blocks, ${dtype} (${(bytes / 2 ** 20).toFixed(1)} MiB); ` +
      `calibration ${settings.nsamples} × ${settings.seqlen} tokens, evaluation ${evalWindows} windows of ` +
      `${settings.seqlen}, 50% unstructured, block size ${settings.blockSize}`,
  );
  const measure = async (
    kind: RunKind,
    ctx: GpuContext,
    options: { resume?: boolean; beforeRunMs?: number },
  ) => {
    // A cold run meets a device that has compiled nothing: its peak is measured after it.
    const peakBefore = kind === 'cold' ? undefined : await matmulPeak(ctx);
    const run = await cliRun(ctx, model, summary.fingerprint, dir, { resume: options.resume });
    await rememberPipelines(ctx, pipelineStore);
    const peakAfter = await matmulPeak(ctx);
    const peak = peakBefore && peakBefore.gflops > peakAfter.gflops ? peakBefore : peakAfter;
    if (!run.timings) throw new Error(`the ${kind} run returned no timings`);
    const report: RunReport = {
      model: `hidden ${shape.hidden}`,
      run: kind,
      adapter: `${ctx.adapter.name}, ${ctx.kernels} kernels`,
      peak,
      flops,
      timings: run.timings,
      blockStarts: run.blockStarts,
      verifyMs: run.verifyMs,
      beforeRunMs: options.beforeRunMs,
      resumedBlocks: options.resume ? Math.ceil(shape.layers / 2) : 0,
    };
    printRun(report);
    reports.push({ ...report, summary: summarize(report) });
  };
  if (runs.includes('cold') || runs.includes('second')) {
    // As a CLI process starts: a new device, and the model opened.
    const { ctx, beforeRunMs } = await openDevice(opened);
    try {
      if (runs.includes('cold')) await measure('cold', ctx, { beforeRunMs });
      if (runs.includes('second')) await measure('second', ctx, {});
    } finally {
      ctx.destroy();
    }
  }
  if (runs.includes('remembered')) {
    const { ctx, beforeRunMs } = await openDevice(opened);
    try {
      await measure('remembered', ctx, { beforeRunMs });
    } finally {
      ctx.destroy();
    }
  }
  if (runs.includes('resumed')) {
    const { ctx: first } = await openDevice(opened);
    try {
      const stopped = await cliRun(first, model, summary.fingerprint, dir, {
        stopAtBlock: Math.ceil(shape.layers / 2),
      });
      if (!stopped.stopped) throw new Error('the run to resume was not stopped');
    } finally {
      first.destroy();
    }
    const { ctx, beforeRunMs } = await openDevice(opened);
    try {
      await measure('resumed', ctx, { resume: true, beforeRunMs });
    } finally {
      ctx.destroy();
    }
  }
}

try {
  for (const shape of shapes) await benchModel(shape);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(reports, null, 2)}\n`);
} finally {
  if (!values.keep) rmSync(scratch, { recursive: true, force: true });
}

/** `sparsegpt prune MODEL_DIR …`: the whole pipeline from the command line, the same core and WGSL as the app. */
import { formatBytes } from '../../core/format-bytes';
import { rememberPipelines, warmUpPipelines } from '../../core/gpu/pipeline-memory';
import { openModel } from '../../core/pipeline/open-model';
import { progressIdentity } from '../../core/pipeline/progress-store';
import { pruneModel } from '../../core/pipeline/prune-model';
import { checkPruneSettings } from '../../core/pipeline/settings-check';
import { CancelledError } from '../../core/pipeline/types';
import { verifyPrunedOutput } from '../../core/pipeline/verify-output';
import {
  DEFAULT_SETTINGS,
  EXPERT_CALIBRATIONS,
  type ExpertCalibration,
  type PruneSettings,
  SETTING_LIMITS,
} from '../../core/settings/prune-settings';
import { openFolder } from '../../node/files';
import { createNodeGpuContext } from '../../node/gpu';
import { OutputRun } from '../../node/output-folder';
import { nodePipelineStore } from '../../node/pipeline-store';
import type { Command } from '../command';
import { createEventPrinter } from '../event-printer';
import { interruptible, type StopReason } from '../interrupt';
import { checkWritableFile, writeJsonFile } from '../json-output';
import { LAYER_OPTIONS, readLayerSettings } from '../layer-options';
import {
  flag,
  numberValue,
  type OptionSpec,
  type ParsedCommandLine,
  parseCommandLine,
  requiredValue,
  stringValue,
} from '../options';
import {
  checkSettingOptions,
  OUTPUT_OPTIONS,
  readOutputSettings,
  readSolverSettings,
  SOLVER_OPTIONS,
} from '../settings-options';
import { readTextArgument } from '../text-input';
import { pruneToGguf } from './prune-gguf';

const OPTIONS: OptionSpec[] = [
  { name: 'calib', value: 'FILE', help: 'calibration text (.txt, or .jsonl with a "text" field); required' },
  {
    name: 'out',
    value: 'OUT_DIR',
    help:
      'where the pruned model folder goes, or FILE.gguf with --format gguf (written whole or not at all);\n' +
      'required',
  },
  ...SOLVER_OPTIONS,
  ...OUTPUT_OPTIONS,
  {
    name: 'nsamples',
    value: 'N',
    help: `calibration samples, at most ${SETTING_LIMITS.maxNsamples}; default ${DEFAULT_SETTINGS.nsamples}`,
  },
  {
    name: 'seqlen',
    value: 'L',
    help: "tokens per sample and per evaluation window; default min(512, the model's positions)",
  },
  { name: 'eval', value: 'FILE', help: 'evaluation text: prints dense and pruned perplexity' },
  { name: 'eval-windows', value: 'N', help: 'score at most N evaluation windows; default all' },
  { name: 'seed', value: 'N', help: `calibration sampling seed; default ${DEFAULT_SETTINGS.seed}` },
  {
    name: 'skip',
    value: 'LIST',
    help: 'comma-separated linears to leave dense ("mlp.down_proj", "layers.0.", a full tensor name)',
  },
  {
    name: 'expert-calibration',
    value: 'WHICH',
    choices: EXPERT_CALIBRATIONS,
    help:
      'mixtures of experts (Mixtral, Qwen3-MoE): calibrate each expert on the tokens routed to it ("routed",\n' +
      'the default) or on every calibration token ("all", for experts the router rarely picks); an expert no\n' +
      'token reaches stays dense with a warning',
  },
  ...LAYER_OPTIONS,
  { name: 'force', help: 'replace OUT_DIR if it is an earlier output of sparsegpt (never any other folder)' },
  {
    name: 'resume',
    help:
      'continue an interrupted run from its last finished block (same model, calibration text and settings;\n' +
      'finished blocks are kept in OUT_DIR.progress/ while a run goes and removed when it succeeds)',
  },
  {
    name: 'json',
    value: 'FILE',
    help: "also write the run's result (settings, per-layer table, perplexities) as JSON",
  },
  { name: 'quiet', help: 'no progress bar and no stage lines' },
];

const DESCRIPTION =
  'Ctrl-C, SIGTERM or SIGHUP stop the run within one layer: the partial output is removed, OUT_DIR.progress/\n' +
  'is kept for --resume, and the exit code is 128 + the signal number (130, 143, 129).\n' +
  'The GPU pipelines a run compiles are listed in ~/.cache/sparsegpt/pipelines.json ($XDG_CACHE_HOME or\n' +
  '$SPARSEGPT_CACHE_DIR move it), so that the next run compiles them all at once before its first block.';

/** The settings the options ask for; the sequence length stays undefined when not given (it depends on the model). */
export async function readPruneSettings(
  args: ParsedCommandLine,
): Promise<{ settings: PruneSettings; seqlen?: number }> {
  const output = readOutputSettings(args, stringValue(args, 'out'));
  // --quantize alone is GPTQ without pruning.
  const quantizeOnly =
    output.quantization !== 'none' && args.values.sparsity === undefined && args.values.pattern === undefined;
  const solver = readSolverSettings(args, DEFAULT_SETTINGS);
  const settings: PruneSettings = {
    ...solver,
    ...output,
    ...(await readLayerSettings(args)),
    sparsity: quantizeOnly ? 0 : solver.sparsity,
    nsamples: numberValue(args, 'nsamples') ?? DEFAULT_SETTINGS.nsamples,
    seed: numberValue(args, 'seed') ?? DEFAULT_SETTINGS.seed,
    skipLayers: (stringValue(args, 'skip') ?? '').split(',').filter((s) => s.trim()),
    evalMaxWindows: numberValue(args, 'eval-windows'),
    expertCalibration:
      (stringValue(args, 'expert-calibration') as ExpertCalibration | undefined) ??
      DEFAULT_SETTINGS.expertCalibration,
  };
  const seqlen = numberValue(args, 'seqlen');
  // Checked now, before any file is read: everything but what needs the model (its positions, its linears).
  checkSettingOptions({ ...settings, seqlen: seqlen ?? DEFAULT_SETTINGS.seqlen });
  return { settings, seqlen };
}

export const prune: Command = {
  name: 'prune',
  summary: 'prune a model folder with SparseGPT, Wanda or magnitude and write the sparse model',
  synopsis:
    'prune MODEL_DIR (--sparsity 0.5 | --pattern 2:4 | --quantize q4_0) --calib FILE --out (OUT_DIR | FILE.gguf) [options]',
  description: DESCRIPTION,
  options: OPTIONS,
  positionals: { name: 'MODEL_DIR', min: 1, max: 1 },
  async run(argv) {
    const args = parseCommandLine(this, argv);
    const calibPath = requiredValue(args, 'calib', 'FILE');
    const out = requiredValue(args, 'out', 'OUT_DIR');
    const requested = await readPruneSettings(args);
    const jsonPath = stringValue(args, 'json');
    if (jsonPath !== undefined) await checkWritableFile(jsonPath, '--json');

    const { model, summary } = await openModel(await openFolder(args.positionals[0]));
    const settings: PruneSettings = {
      ...requested.settings,
      seqlen: requested.seqlen ?? Math.min(512, summary.maxPositions),
    };
    checkPruneSettings(settings, model.arch);
    const calibration = await readTextArgument(calibPath, 'calibration');
    const evalPath = stringValue(args, 'eval');
    const evaluation = evalPath ? await readTextArgument(evalPath, 'evaluation') : undefined;
    if (settings.format === 'gguf') {
      return pruneToGguf({
        model,
        settings,
        texts: { calibration, evaluation },
        out,
        force: flag(args, 'force'),
        resume: flag(args, 'resume'),
        quiet: flag(args, 'quiet'),
        jsonPath,
      });
    }

    // Checked before anything is written: not an input, not locked by another run, nothing of the user's replaced.
    const output = await OutputRun.open(
      out,
      [
        { path: args.positionals[0], what: 'model folder' },
        { path: calibPath, what: 'calibration file' },
        ...(evalPath ? [{ path: evalPath, what: 'evaluation file' }] : []),
      ],
      { force: flag(args, 'force'), resume: flag(args, 'resume') },
    );
    const printer = createEventPrinter(process.stdout, process.stderr, flag(args, 'quiet'));
    const stop = interruptible();
    const pipelineStore = nodePipelineStore();
    let ctx: Awaited<ReturnType<typeof createNodeGpuContext>> | undefined;
    try {
      const progress = await output.openProgress(
        await progressIdentity(settings, summary.fingerprint, calibration),
      );
      if (progress.savedBlocks > 0) {
        console.error(
          `Resuming: ${progress.savedBlocks} of ${summary.layers} blocks were finished by the interrupted run ` +
            `(${output.paths.progress})`,
        );
      }
      ctx = await createNodeGpuContext();
      // The pipelines earlier runs on this adapter used compile on Dawn's threads while the output is staged.
      const warmUp = warmUpPipelines(ctx, pipelineStore);
      const staged = await output.stage();
      console.error(
        `${summary.name}: ${summary.modelType}, ${summary.layers} blocks, ${summary.prunable.length} linears to prune, ` +
          `on ${ctx.adapter.name}`,
      );
      await warmUp;
      const { result } = await pruneModel(
        ctx,
        model,
        settings,
        { calibration, evaluation },
        {
          output: { sinkFor: staged.sinkFor },
          onEvent: printer.onEvent,
          signal: stop.signal,
          progress: progress.store,
        },
      );
      printer.finish();
      console.error('Verifying the written model');
      await verifyPrunedOutput(model.checkpoint, await openFolder(staged.path), result.layers);
      if (stop.signal.aborted) throw new CancelledError();
      await output.commit();
      const peakRssBytes = process.resourceUsage().maxRSS * 1024;
      console.error(
        `peak memory: GPU buffers ${formatBytes(result.peakGpuBytes ?? 0)}, process RSS ${formatBytes(peakRssBytes)}`,
      );
      if (jsonPath !== undefined) await writeJsonFile(jsonPath, { ...result, peakRssBytes });
      console.log(
        `overall sparsity ${(result.overallSparsity * 100).toFixed(2)}% over ${result.layers.filter((l) => !l.skipped).length} linears, ` +
          `${(result.totalMs / 1000).toFixed(1)} s; wrote ${out}`,
      );
      return 0;
    } catch (error) {
      printer.finish();
      const kept = await output.abandon();
      if (stop.reason) {
        console.error(stoppedMessage(stop.reason, kept, output.paths.progress));
        return stop.exitCode;
      }
      if (kept > 0) {
        console.error(
          `${kept} finished block${kept === 1 ? ' is' : 's are'} kept in ${output.paths.progress}: run the same ` +
            'command with --resume to continue.',
        );
      }
      throw error;
    } finally {
      stop.dispose();
      if (ctx) await rememberPipelines(ctx, pipelineStore);
      ctx?.destroy();
    }
  },
};

/** The last line of a stopped run: what was removed and what `--resume` can use. */
function stoppedMessage(reason: StopReason, kept: number, progressPath: string): string {
  const why = reason === 'SIGPIPE' ? 'the output pipe was closed' : reason;
  return (
    `stopped (${why}): the partial output was removed; ` +
    (kept > 0
      ? `finished blocks are kept in ${progressPath}/: run the same command with --resume to continue`
      : 'no block had finished, so there is nothing to resume')
  );
}

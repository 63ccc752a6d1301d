/** `sparsegpt prune MODEL_DIR …`: the whole pipeline from the command line, the same core and WGSL as the app. */
import { formatBytes } from '../../core/io/errors';
import { openModel } from '../../core/pipeline/open-model';
import { progressIdentity } from '../../core/pipeline/progress-store';
import { pruneModel } from '../../core/pipeline/prune-model';
import { DEFAULT_SETTINGS, type PruneSettings } from '../../core/pipeline/types';
import { verifyPrunedOutput } from '../../core/pipeline/verify-output';
import { openFolder } from '../../node/files';
import { createNodeGpuContext } from '../../node/gpu';
import { OutputRun } from '../../node/output-folder';
import { numberOption, parseArgs, parsePattern, stringOption } from '../args';
import { createEventPrinter } from '../progress';
import { readTextArgument } from '../text-input';
import { type Command, UsageError } from './index';

const USAGE = `usage: sparsegpt prune MODEL_DIR (--sparsity 0.5 | --pattern 2:4) --calib FILE --out OUT_DIR [options]

  --method sparsegpt|wanda|magnitude   default sparsegpt
  --sparsity F        fraction of weights zeroed per linear (unstructured), default 0.5
  --pattern N:M       N zeros in every M consecutive weights (2:4, 4:8); overrides --sparsity
  --calib FILE        calibration text (.txt, or .jsonl with a "text" field)
  --nsamples N        calibration samples, default 128
  --seqlen L          tokens per sample and per evaluation window, default min(512, model positions)
  --eval FILE         evaluation text: prints dense and pruned perplexity
  --eval-windows N    score at most N evaluation windows
  --block-size B      SparseGPT lazy-batch block, default 128
  --damp F            dampening, fraction of mean diag(H), default 0.01
  --seed N            calibration sampling seed, default 0
  --skip LIST         comma-separated linears to leave dense ("mlp.down_proj", "layers.0.")
  --out OUT_DIR       where the pruned model folder goes (written whole or not at all)
  --force             replace OUT_DIR if it is an earlier output of sparsegpt (never any other folder)
  --resume            continue an interrupted run from its last finished block (same model, calibration text
                      and settings; finished blocks are kept in OUT_DIR.progress/ while a run goes and removed
                      when it succeeds)
  --json FILE         also write the run's result (settings, per-layer table, perplexities) as JSON
  --quiet             no progress bar`;

const VALUED = [
  'method',
  'sparsity',
  'pattern',
  'calib',
  'nsamples',
  'seqlen',
  'eval',
  'eval-windows',
  'block-size',
  'damp',
  'seed',
  'skip',
  'out',
  'json',
];

export const prune: Command = {
  name: 'prune',
  summary: 'prune a model folder with SparseGPT, Wanda or magnitude and write the sparse model',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, VALUED, ['force', 'quiet', 'resume']);
    if (args.positional.length !== 1) throw new UsageError(`give exactly one MODEL_DIR\n\n${USAGE}`);
    const calibPath = stringOption(args, 'calib');
    if (!calibPath) throw new UsageError(`--calib FILE is required\n\n${USAGE}`);
    const out = stringOption(args, 'out');
    if (!out) throw new UsageError(`--out OUT_DIR is required\n\n${USAGE}`);
    const method = stringOption(args, 'method') ?? DEFAULT_SETTINGS.method;
    if (!['sparsegpt', 'wanda', 'magnitude'].includes(method)) {
      throw new UsageError(`--method must be sparsegpt, wanda or magnitude (got "${method}")`);
    }
    const patternText = stringOption(args, 'pattern');
    if (patternText && args.options.has('sparsity')) {
      throw new UsageError('give --sparsity or --pattern, not both');
    }

    const { model, summary } = await openModel(await openFolder(args.positional[0]));
    const settings: PruneSettings = {
      ...DEFAULT_SETTINGS,
      method: method as PruneSettings['method'],
      sparsity: numberOption(args, 'sparsity', DEFAULT_SETTINGS.sparsity),
      pattern: patternText ? parsePattern(patternText) : 'unstructured',
      nsamples: numberOption(args, 'nsamples', DEFAULT_SETTINGS.nsamples, true),
      seqlen: numberOption(args, 'seqlen', Math.min(512, summary.maxPositions), true),
      blockSize: numberOption(args, 'block-size', DEFAULT_SETTINGS.blockSize, true),
      percdamp: numberOption(args, 'damp', DEFAULT_SETTINGS.percdamp),
      seed: numberOption(args, 'seed', DEFAULT_SETTINGS.seed, true),
      skipLayers: (stringOption(args, 'skip') ?? '').split(',').filter((s) => s.trim()),
      evalMaxWindows: args.options.has('eval-windows')
        ? numberOption(args, 'eval-windows', 0, true)
        : undefined,
    };
    const calibration = await readTextArgument(calibPath, 'calibration');
    const evalPath = stringOption(args, 'eval');
    const evaluation = evalPath ? await readTextArgument(evalPath, 'evaluation') : undefined;

    // Checked before anything is written: not an input, not locked by another run, nothing of the user's replaced.
    const output = await OutputRun.open(
      out,
      [
        { path: args.positional[0], what: 'model folder' },
        { path: calibPath, what: 'calibration file' },
        ...(evalPath ? [{ path: evalPath, what: 'evaluation file' }] : []),
      ],
      { force: args.options.has('force'), resume: args.options.has('resume') },
    );
    const printer = createEventPrinter(process.stdout, process.stderr, args.options.has('quiet'));
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
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
      const staged = await output.stage();
      console.error(
        `${summary.name}: ${summary.modelType}, ${summary.layers} blocks, ${summary.prunable.length} linears to prune, ` +
          `on ${ctx.adapter.name}`,
      );
      const { result } = await pruneModel(
        ctx,
        model,
        settings,
        { calibration, evaluation },
        {
          output: { sinkFor: staged.sinkFor },
          onEvent: printer.onEvent,
          signal: controller.signal,
          progress: progress.store,
        },
      );
      printer.finish();
      console.error('Verifying the written model');
      await verifyPrunedOutput(model.checkpoint, await openFolder(staged.path), result.layers);
      await output.commit();
      const peakRssBytes = process.resourceUsage().maxRSS * 1024;
      console.error(
        `peak memory: GPU buffers ${formatBytes(result.peakGpuBytes ?? 0)}, process RSS ${formatBytes(peakRssBytes)}`,
      );
      if (args.options.has('json')) {
        const { writeFile } = await import('node:fs/promises');
        const record = { ...result, peakRssBytes };
        await writeFile(stringOption(args, 'json') as string, `${JSON.stringify(record, jsonReplacer, 2)}\n`);
      }
      console.log(
        `overall sparsity ${(result.overallSparsity * 100).toFixed(2)}% over ${result.layers.filter((l) => !l.skipped).length} linears, ` +
          `${(result.totalMs / 1000).toFixed(1)} s; wrote ${out}`,
      );
      return 0;
    } catch (error) {
      printer.finish();
      const kept = await output.abandon();
      if (kept > 0) {
        console.error(
          `${kept} finished block${kept === 1 ? ' is' : 's are'} kept in ${output.paths.progress}: run the same ` +
            'command with --resume to continue.',
        );
      }
      throw error;
    } finally {
      process.off('SIGINT', onSignal);
      ctx?.destroy();
    }
  },
};

/** Typed arrays (mask previews) are left out of the JSON. */
function jsonReplacer(key: string, value: unknown): unknown {
  if (key === 'mask') return undefined;
  return value;
}

/**
 * `sparsegpt sweep MODEL_DIR --methods … --sparsities … --calib … --eval …`: methods × sparsities (and N:M
 * patterns), each point a full run of the same pipeline as `prune`, printed as a table row as it finishes and
 * written to --csv / --json after every point (so a stopped or failed sweep keeps its finished points). Nothing
 * is written but those files unless --save asks for each point's model.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openModel } from '../../core/pipeline/open-model';
import { pruneModel } from '../../core/pipeline/prune-model';
import { checkPruneSettings } from '../../core/pipeline/settings-check';
import { CancelledError, type PruneEvent } from '../../core/pipeline/types';
import { verifyPrunedOutput } from '../../core/pipeline/verify-output';
import { DEFAULT_SETTINGS, PRUNE_METHODS, type PruneMethod } from '../../core/settings/prune-settings';
import { sweepCsv, sweepJson } from '../../core/sweep/report';
import {
  pointSettings,
  type SweepPoint,
  type SweepRequest,
  type SweepResult,
  sweepPoints,
  sweepProblems,
  sweepResult,
} from '../../core/sweep/sweep';
import { openFolder } from '../../node/files';
import { createNodeGpuContext } from '../../node/gpu';
import { OutputRun } from '../../node/output-folder';
import { type Command, UsageError } from '../command';
import { formatDuration, progressBar } from '../event-printer';
import { interruptible } from '../interrupt';
import { checkWritableFile } from '../json-output';
import {
  flag,
  type OptionSpec,
  type ParsedCommandLine,
  parseCommandLine,
  requiredValue,
  stringValue,
} from '../options';
import { readTextArgument } from '../text-input';
import { prune, readPruneSettings } from './prune';

/** The options a sweep shares with prune: calibration, evaluation, the solver's block and dampening, shaping. */
const SHARED = new Set([
  'calib',
  'eval',
  'nsamples',
  'seqlen',
  'eval-windows',
  'seed',
  'skip',
  'block-size',
  'damp',
  'layer-sparsity',
  'allocation',
  'owl-m',
  'owl-lambda',
  'quiet',
]);

const OPTIONS: OptionSpec[] = [
  {
    name: 'methods',
    value: 'LIST',
    help: `comma-separated methods to compare (${PRUNE_METHODS.join(', ')}); required`,
  },
  {
    name: 'sparsities',
    value: 'LIST',
    help: 'comma-separated unstructured sparsities, fractions of zeros (0.3,0.5,0.7)',
  },
  {
    name: 'patterns',
    value: 'LIST',
    help: 'comma-separated N:M patterns (2:4,4:8), each a point per method',
  },
  ...prune.options
    .filter((o) => SHARED.has(o.name))
    .map((o) =>
      o.name === 'eval' ? { ...o, help: 'evaluation text: each point is its perplexity on it; required' } : o,
    ),
  { name: 'csv', value: 'FILE', help: 'write the points as CSV (rewritten after every point)' },
  {
    name: 'json',
    value: 'FILE',
    help: 'write the points and their settings as JSON (rewritten after every point)',
  },
  {
    name: 'save',
    value: 'DIR',
    help: "also write each point's pruned model folder into DIR (named MODEL-METHOD-AMOUNT); default: none",
  },
  { name: 'force', help: 'with --save: replace earlier outputs of sparsegpt there (never any other folder)' },
];

function list(args: ParsedCommandLine, name: string): string[] {
  return (stringValue(args, name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function readSweepRequest(args: ParsedCommandLine): SweepRequest {
  const methods = list(args, 'methods');
  for (const method of methods) {
    if (!PRUNE_METHODS.includes(method as PruneMethod)) {
      throw new UsageError(`--methods: unknown method "${method}" (choose from ${PRUNE_METHODS.join(', ')})`);
    }
  }
  const sparsities = list(args, 'sparsities').map((text) => {
    const value = Number(text);
    if (!Number.isFinite(value)) throw new UsageError(`--sparsities: "${text}" is not a number (e.g. 0.5)`);
    return value;
  });
  const patterns = list(args, 'patterns').map((text) => {
    const match = /^(\d+):(\d+)$/.exec(text);
    if (!match) throw new UsageError(`--patterns: "${text}" is not N:M (e.g. 2:4)`);
    return { n: Number(match[1]), m: Number(match[2]) };
  });
  return { methods: methods as PruneMethod[], sparsities, patterns };
}

/** "sparsegpt-50pct", "wanda-2of4": a point's part of its saved folder's name. */
function pointFolderName(point: SweepPoint): string {
  const amount =
    point.pattern === 'unstructured'
      ? `${Number((point.sparsity * 100).toFixed(1))}pct`.replace('.', 'p')
      : `${point.pattern.n}of${point.pattern.m}`;
  return `${point.method}-${amount}`;
}

const COLUMNS: Array<[string, number]> = [
  ['method', 10],
  ['pattern', 8],
  ['pruned layers', 13],
  ['all linears', 11],
  ['perplexity', 12],
  ['time', 8],
];

function tableRow(cells: string[]): string {
  return cells
    .map((cell, i) => (i < 2 ? cell.padEnd(COLUMNS[i][1]) : cell.padStart(COLUMNS[i][1])))
    .join('  ');
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;

export const sweep: Command = {
  name: 'sweep',
  summary: 'prune at several methods × sparsities and compare their perplexities (CSV, JSON)',
  synopsis:
    'sweep MODEL_DIR --methods LIST (--sparsities LIST | --patterns LIST) --calib FILE --eval FILE [--csv FILE] [options]',
  description:
    'Each point is a whole run of the pruning pipeline (as `prune`), scored on the evaluation text; the dense\n' +
    'perplexity is scored once, at the first point. Ctrl-C, SIGTERM or SIGHUP stop the sweep within one layer:\n' +
    'the finished points stay in --csv and --json, and the exit code is 128 + the signal number.',
  options: OPTIONS,
  positionals: { name: 'MODEL_DIR', min: 1, max: 1 },
  async run(argv) {
    const args = parseCommandLine(this, argv);
    const calibPath = requiredValue(args, 'calib', 'FILE');
    const evalPath = stringValue(args, 'eval');
    if (!evalPath)
      throw new UsageError('--eval FILE is required: a sweep compares the perplexities of its points');
    if (!stringValue(args, 'methods'))
      throw new UsageError('--methods LIST is required (e.g. sparsegpt,wanda)');
    const request = readSweepRequest(args);
    const requested = await readPruneSettings(args);
    const problems = sweepProblems(request, {
      ...requested.settings,
      seqlen: requested.seqlen ?? DEFAULT_SETTINGS.seqlen,
    });
    if (problems.length) throw new UsageError(problems.join('\n'), problems);
    const csvPath = stringValue(args, 'csv');
    const jsonPath = stringValue(args, 'json');
    if (csvPath !== undefined) await checkWritableFile(csvPath, '--csv');
    if (jsonPath !== undefined) await checkWritableFile(jsonPath, '--json');
    const saveDir = stringValue(args, 'save');

    const modelPath = args.positionals[0];
    const { model, summary } = await openModel(await openFolder(modelPath));
    const base = { ...requested.settings, seqlen: requested.seqlen ?? Math.min(512, summary.maxPositions) };
    const points = sweepPoints(request);
    // Every point is checked against the model before the first one runs.
    for (const point of points) checkPruneSettings(pointSettings(base, point), model.arch);
    const calibration = await readTextArgument(calibPath, 'calibration');
    const evaluation = await readTextArgument(evalPath, 'evaluation');
    const inputs = [
      { path: modelPath, what: 'model folder' },
      { path: calibPath, what: 'calibration file' },
      { path: evalPath, what: 'evaluation file' },
    ];

    const quiet = flag(args, 'quiet');
    const live = Boolean(process.stderr.isTTY) && !quiet;
    const results: SweepResult[] = [];
    let densePerplexity: number | undefined;
    let calibrationUsed: { nsamples: number; seqlen: number; textTokens: number } | undefined;
    const writeFiles = async (stopped: boolean) => {
      if (csvPath !== undefined) await writeFile(csvPath, sweepCsv(results, densePerplexity));
      if (jsonPath !== undefined) {
        const record = { model: summary.name, settings: base, calibration: calibrationUsed, densePerplexity };
        await writeFile(jsonPath, sweepJson({ ...record, stopped, points: results }));
      }
    };
    const stop = interruptible();
    const ctx = await createNodeGpuContext();
    try {
      console.error(
        `${summary.name}: ${points.length} points (${request.methods.join(', ')} × ` +
          `${[...new Set(points.map((p) => p.label))].join(', ')}) on ${ctx.adapter.name}`,
      );
      for (const [index, point] of points.entries()) {
        if (stop.signal.aborted) break;
        const label = `point ${index + 1}/${points.length}: ${point.method} ${point.label}`;
        if (!quiet) console.error(label);
        const onEvent = (event: PruneEvent) => {
          if (event.type === 'calibration') {
            calibrationUsed = {
              nsamples: event.nsamples,
              seqlen: event.seqlen,
              textTokens: event.textTokens,
            };
          }
          if (event.type === 'warning' && index === 0) console.error(`warning: ${event.message}`);
          if (event.type === 'progress' && live) {
            const eta = event.etaSeconds === undefined ? '' : `  ETA ${formatDuration(event.etaSeconds)}`;
            process.stderr.write(`\r\x1b[2K${progressBar(event.done, event.total)}${eta}`);
          }
        };
        const output = saveDir
          ? await OutputRun.open(join(saveDir, `${summary.name}-${pointFolderName(point)}`), inputs, {
              force: flag(args, 'force'),
              resume: false,
            })
          : undefined;
        try {
          const staged = await output?.stage();
          const { result } = await pruneModel(
            ctx,
            model,
            pointSettings(base, point),
            { calibration, evaluation },
            {
              ...(staged && { output: { sinkFor: staged.sinkFor } }),
              onEvent,
              signal: stop.signal,
              scoreDense: index === 0,
            },
          );
          if (staged) {
            await verifyPrunedOutput(model.checkpoint, await openFolder(staged.path), result.layers);
            await output?.commit();
          }
          if (live) process.stderr.write('\r\x1b[2K');
          densePerplexity ??= result.dense?.perplexity;
          if (index === 0) {
            console.log(`dense perplexity: ${densePerplexity?.toFixed(4)}`);
            console.log(tableRow(COLUMNS.map(([title]) => title)));
          }
          const finished = sweepResult(point, result);
          results.push(finished);
          console.log(
            tableRow([
              point.method,
              point.label,
              percent(finished.sparsityOfPrunedLayers),
              percent(finished.sparsityOfAllLinears),
              finished.prunedPerplexity.toFixed(4),
              `${finished.seconds.toFixed(1)}s`,
            ]),
          );
          await writeFiles(false);
        } catch (error) {
          if (live) process.stderr.write('\r\x1b[2K');
          await output?.abandon();
          if (error instanceof CancelledError && stop.reason) break;
          await writeFiles(true);
          throw error;
        }
      }
      if (stop.reason) {
        await writeFiles(true);
        const why = stop.reason === 'SIGPIPE' ? 'the output pipe was closed' : stop.reason;
        console.error(
          `stopped (${why}): ${results.length} of ${points.length} points finished` +
            `${csvPath || jsonPath ? `, kept in ${[csvPath, jsonPath].filter(Boolean).join(' and ')}` : ''}`,
        );
        return stop.exitCode;
      }
      console.error(
        `${results.length} points${csvPath || jsonPath ? `; wrote ${[csvPath, jsonPath].filter(Boolean).join(' and ')}` : ''}`,
      );
      return 0;
    } finally {
      stop.dispose();
      ctx.destroy();
    }
  },
};

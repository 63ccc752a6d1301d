/**
 * `sparsegpt prune-layer --weight W.safetensors --inputs X.safetensors --out Wq.safetensors [...]`: one linear
 * layer through the same solver the app uses, from a weight [rows, cols] and its calibration inputs [tokens, cols].
 */
import { basename } from 'node:path';
import type { GpuContext } from '../../core/gpu/context';
import type { ByteSource } from '../../core/io/bytes';
import { type Checkpoint, openSafetensorsFile } from '../../core/io/checkpoint';
import { pruningMetadata } from '../../core/io/checkpoint-writer';
import { ModelFileError } from '../../core/io/errors';
import type { TensorInfo } from '../../core/io/safetensors-header';
import { writeSafetensors } from '../../core/io/safetensors-write';
import { DEFAULT_SETTINGS, patternSparsity } from '../../core/settings/prune-settings';
import {
  CholeskyFailedError,
  InvalidSettingError,
  InvalidTensorError,
  PatternMismatchError,
} from '../../core/sparsegpt/errors';
import { HessianAccumulator } from '../../core/sparsegpt/hessian';
import { prepareLayer } from '../../core/sparsegpt/prepare';
import { pruneLayer } from '../../core/sparsegpt/prune';
import { type LayerPruneOptions, resolveLayerPrune } from '../../core/sparsegpt/settings';
import { TOOL_VERSION } from '../../core/version';
import { fileByteSink, fileByteSource } from '../../node/files';
import { createNodeGpuContext } from '../../node/gpu';
import { type Command, UsageError } from '../command';
import { type OptionSpec, parseCommandLine, requiredValue } from '../options';
import { checkSettingOptions, readSolverSettings, SOLVER_OPTIONS } from '../settings-options';

const WEIGHT_TENSOR = 'weight';
const INPUTS_TENSOR = 'inputs';
/** Calibration tokens read and uploaded at a time, so that X never has to fit in memory at once. */
const INPUT_BATCH_BYTES = 64 << 20;

const DESCRIPTION = [
  `W.safetensors holds tensor "${WEIGHT_TENSOR}" [rows, cols] (out × in features); X.safetensors holds`,
  `"${INPUTS_TENSOR}" [tokens, cols] (or [batch, tokens, cols]), the layer's calibration inputs; F32, F16, BF16`,
  `or F64. Writes "${WEIGHT_TENSOR}" pruned, in its original dtype, with the weight file's other tensors (e.g.`,
  'a bias) copied unchanged, and prints the sparsity reached and the relative reconstruction error',
  'tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ).',
].join('\n');

const OPTIONS: OptionSpec[] = [
  { name: 'weight', value: 'FILE', help: `safetensors file with the "${WEIGHT_TENSOR}" tensor; required` },
  { name: 'inputs', value: 'FILE', help: `safetensors file with the "${INPUTS_TENSOR}" tensor; required` },
  { name: 'out', value: 'FILE', help: 'where the pruned .safetensors file goes; required' },
  ...SOLVER_OPTIONS,
];

/** The settings a single layer's solve uses (the others are the whole pipeline's). */
const LAYER_FIELDS = ['method', 'sparsity', 'pattern', 'blockSize', 'percdamp'] as const;

interface LayerJob {
  weightPath: string;
  inputsPath: string;
  outPath: string;
  options: LayerPruneOptions;
  percdamp: number;
}

function parseJob(command: Command, argv: string[]): LayerJob {
  const args = parseCommandLine(command, argv);
  const weightPath = requiredValue(args, 'weight');
  const inputsPath = requiredValue(args, 'inputs');
  const outPath = requiredValue(args, 'out');
  const settings = readSolverSettings(args, DEFAULT_SETTINGS);
  checkSettingOptions(settings, {}, LAYER_FIELDS);
  const { method, pattern, blockSize, percdamp } = settings;
  const sparsity = patternSparsity(pattern, settings.sparsity);
  return { weightPath, inputsPath, outPath, options: { method, sparsity, pattern, blockSize }, percdamp };
}

/**
 * Typed errors of the reader and the solver mean the user's input is at fault: exit code 2 with their message.
 * Failing to read or write a file (disk full, file replaced) stays a run failure (exit code 1).
 */
function asUsageError(error: unknown): unknown {
  if (error instanceof ModelFileError) {
    const ioFailure = ['read-failed', 'write-failed', 'bad-write'].includes(error.code);
    return ioFailure ? error : new UsageError(error.message);
  }
  const badInput = [InvalidSettingError, InvalidTensorError, PatternMismatchError, CholeskyFailedError];
  return badInput.some((type) => error instanceof type) ? new UsageError((error as Error).message) : error;
}

async function openFile(path: string, what: string): Promise<{ checkpoint: Checkpoint; source: ByteSource }> {
  const source = await fileByteSource(path, basename(path));
  if (!source.name.endsWith('.safetensors')) {
    throw new UsageError(`${what} ${path} must be a .safetensors file`);
  }
  return { checkpoint: await openSafetensorsFile(source), source };
}

function requireTensor(checkpoint: Checkpoint, name: string, path: string, ranks: number[]): TensorInfo {
  if (!checkpoint.has(name)) {
    const present = checkpoint.tensors.map((t) => `${t.name} [${t.shape}]`).join(', ');
    throw new UsageError(`${path} has no tensor "${name}" (it has: ${present})`);
  }
  const tensor = checkpoint.tensor(name);
  if (!ranks.includes(tensor.shape.length)) {
    const expected = name === WEIGHT_TENSOR ? '[rows, cols]' : '[tokens, cols] or [batch, tokens, cols]';
    throw new UsageError(`tensor "${name}" in ${path} has shape [${tensor.shape}]; expected ${expected}`);
  }
  return tensor;
}

/** Reads the inputs in row batches straight into the accumulator; the error names the bad value's position. */
async function accumulateInputs(
  checkpoint: Checkpoint,
  inputs: TensorInfo,
  accumulator: HessianAccumulator,
): Promise<number> {
  const cols = accumulator.columns;
  const perRow = inputs.shape.slice(1).reduce((a, b) => a * b, 1);
  const rowsPerBatch = Math.max(1, Math.floor(INPUT_BATCH_BYTES / 4 / perRow));
  const tokens = (inputs.shape[0] * perRow) / cols;
  for (let start = 0; start < inputs.shape[0]; start += rowsPerBatch) {
    const end = Math.min(inputs.shape[0], start + rowsPerBatch);
    const X = await checkpoint.readFloat32(INPUTS_TENSOR, { start, end });
    const firstToken = (start * perRow) / cols;
    for (let i = 0; i < X.length; i++) {
      if (!Number.isFinite(X[i])) {
        const token = firstToken + Math.floor(i / cols);
        throw new UsageError(`inputs token ${token}, column ${i % cols} is ${X[i]}: inputs must be finite`);
      }
    }
    accumulator.addFromArray(X, X.length / cols);
  }
  return tokens;
}

function patternText(options: LayerPruneOptions): string {
  const { pattern = 'unstructured' } = options;
  return pattern === 'unstructured' ? 'unstructured' : `${pattern.n}:${pattern.m}`;
}

async function pruneLayerFile(job: LayerJob, gpu?: GpuContext): Promise<number> {
  const weightFile = await openFile(job.weightPath, '--weight');
  const inputsFile = await openFile(job.inputsPath, '--inputs');
  const weight = requireTensor(weightFile.checkpoint, WEIGHT_TENSOR, job.weightPath, [2]);
  const inputs = requireTensor(inputsFile.checkpoint, INPUTS_TENSOR, job.inputsPath, [2, 3]);
  const [rows, cols] = weight.shape;
  const inputCols = inputs.shape[inputs.shape.length - 1];
  if (inputCols !== cols) {
    throw new UsageError(
      `the inputs have ${inputCols} features per token ([${inputs.shape}]) but the weight [${weight.shape}] ` +
        `takes ${cols}: X must be the inputs of this layer`,
    );
  }
  if (rows === 0 || cols === 0) throw new UsageError(`the weight [${weight.shape}] is empty`);
  if (inputs.shape.some((size) => size === 0)) {
    throw new UsageError(`${job.inputsPath} holds no tokens ([${inputs.shape}]): the Hessian needs inputs`);
  }
  // Settings are checked against the shape before any GPU work or large read.
  resolveLayerPrune(job.options, cols);
  const W = await weightFile.checkpoint.readFloat32(WEIGHT_TENSOR);

  const ctx = gpu ?? (await createNodeGpuContext());
  try {
    const started = performance.now();
    const accumulator = new HessianAccumulator(ctx, cols);
    const tokens = await accumulateInputs(inputsFile.checkpoint, inputs, accumulator).catch((error) => {
      accumulator.destroy();
      throw error;
    });
    const prepared = await prepareLayer(ctx, accumulator, cols, { percdamp: job.percdamp }).finally(() =>
      accumulator.destroy(),
    );
    const result = await pruneLayer(ctx, W, rows, cols, prepared, job.options).finally(() =>
      prepared.destroy(),
    );
    const seconds = (performance.now() - started) / 1000;

    console.log(`layer:     ${rows}×${cols} (${weight.dtype}), ${tokens} calibration tokens`);
    console.log(
      `method:    ${job.options.method} ${patternText(job.options)}` +
        `${job.options.pattern === 'unstructured' ? ` at sparsity ${job.options.sparsity}` : ''}, ` +
        `block ${job.options.blockSize}, dampening ${prepared.percdamp}` +
        `${prepared.retries ? ` (raised ${prepared.retries}× from ${job.percdamp}: H was not positive definite)` : ''}` +
        `${prepared.deadCount ? `, ${prepared.deadCount} dead input columns zeroed` : ''}`,
    );
    console.log(
      `sparsity:  ${(result.sparsity * 100).toFixed(2)}% (${result.zeros} of ${rows * cols} weights zero)`,
    );
    console.log(`error:     ${result.relativeError.toExponential(4)} relative (tr(ΔW·H·ΔWᵀ)/tr(W·H·Wᵀ))`);
    console.log(`time:      ${seconds.toFixed(2)} s on ${ctx.adapter.name}`);

    await writeOutput(job, weightFile.checkpoint, weight, result.W, tokens);
    console.log(`wrote:     ${job.outPath}`);
    return 0;
  } finally {
    if (!gpu) ctx.destroy();
  }
}

async function writeOutput(
  job: LayerJob,
  source: Checkpoint,
  weight: TensorInfo,
  pruned: Float32Array,
  tokens: number,
): Promise<void> {
  const others = source.tensors.filter((t) => t.name !== WEIGHT_TENSOR);
  const tensors = [
    { name: WEIGHT_TENSOR, dtype: weight.dtype, shape: weight.shape, data: pruned },
    ...(await Promise.all(
      others.map(async (t) => ({
        name: t.name,
        dtype: t.dtype,
        shape: t.shape,
        data: await source.readBytes(t.name),
      })),
    )),
  ];
  const metadata = {
    ...source.metadata,
    ...pruningMetadata({
      method: job.options.method ?? 'sparsegpt',
      sparsity: job.options.sparsity ?? 0.5,
      pattern: patternText(job.options),
      calibration: `${tokens} tokens from ${basename(job.inputsPath)}`,
      toolVersion: TOOL_VERSION,
      extra: { block_size: job.options.blockSize ?? 128, percdamp: job.percdamp },
    }),
  };
  await writeSafetensors(await fileByteSink(job.outPath), tensors, metadata);
}

/** The command on a GPU context of the caller's (kept open), or on a fresh one of its own. */
export function createPruneLayerCommand(gpu?: GpuContext): Command {
  return {
    name: 'prune-layer',
    summary: 'prune one linear layer (weight + calibration inputs) with SparseGPT, Wanda or magnitude',
    synopsis: 'prune-layer --weight W.safetensors --inputs X.safetensors --out Wq.safetensors [options]',
    description: DESCRIPTION,
    options: OPTIONS,
    positionals: { name: 'argument', min: 0, max: 0 },
    async run(argv) {
      const job = parseJob(this, argv);
      try {
        return await pruneLayerFile(job, gpu);
      } catch (error) {
        throw asUsageError(error);
      }
    },
  };
}

export const pruneLayerCommand = createPruneLayerCommand();

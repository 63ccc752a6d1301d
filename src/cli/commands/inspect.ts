/** `sparsegpt inspect MODEL_DIR`: what the reader sees in a model folder (architecture, tokenizer, tensors). */

import { formatFileSize } from '../../core/format-bytes';
import { type Checkpoint, openCheckpoint } from '../../core/io/checkpoint';
import { ModelFileError } from '../../core/io/errors';
import type { ModelFolder } from '../../core/io/folder';
import { elementCount } from '../../core/io/safetensors-header';
import { loadModelConfig } from '../../core/model/config';
import type { ModelConfig } from '../../core/model/types';
import { loadTokenizer } from '../../core/tokenizer/load-tokenizer';
import { openFolder } from '../../node/files';
import { type Command, UsageError } from '../command';
import { flag, parseCommandLine } from '../options';

function describeConfig(config: ModelConfig): string[] {
  const positional =
    config.positional.kind === 'rope'
      ? `RoPE θ=${config.positional.theta}${config.positional.scaling ? ` (${config.positional.scaling.type} ×${config.positional.scaling.factor})` : ''}`
      : `learned positions (offset ${config.positional.offset})`;
  const biases = Object.entries(config.biases)
    .filter(([, on]) => on)
    .map(([name]) => name);
  return [
    `architecture: ${config.modelType} (${config.family} family), ${config.numLayers} layers, hidden ${config.hiddenSize}, ` +
      `intermediate ${config.intermediateSize}`,
    `attention:    ${config.numHeads} heads, ${config.numKvHeads} kv heads, head_dim ${config.headDim}, ${positional}`,
    `details:      vocab ${config.vocabSize}, max positions ${config.maxPositions}, ${config.norm.kind} ` +
      `eps ${config.norm.eps}, ${config.activation}, biases: ${biases.length ? biases.join('/') : 'none'}, ` +
      `${config.tiedEmbeddings ? 'tied' : 'separate'} embeddings${config.torchDtype ? `, ${config.torchDtype}` : ''}`,
  ];
}

function describeWeights(checkpoint: Checkpoint): string[] {
  const parameters = checkpoint.tensors.reduce((sum, t) => sum + elementCount(t.shape), 0);
  const bytes = checkpoint.tensors.reduce((sum, t) => sum + t.byteEnd - t.byteStart, 0);
  const dtypes = [...new Set(checkpoint.tensors.map((t) => t.dtype))].join(', ');
  const files = checkpoint.index
    ? `${checkpoint.files.length} shards via ${checkpoint.index.file}`
    : checkpoint.files[0].file;
  const metadata = Object.entries(checkpoint.metadata)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return [
    `weights:      ${files}: ${checkpoint.tensors.length} tensors, ${parameters.toLocaleString('en-US')} parameters, ` +
      `${formatFileSize(bytes)} (${dtypes})`,
    ...(metadata ? [`metadata:     ${metadata}`] : []),
    ...checkpoint.warnings.map((w) => `warning:      ${w}`),
  ];
}

function tensorTable(checkpoint: Checkpoint): string[] {
  // A loop, not Math.max(...names): spreading 100,000s of arguments overflows the stack.
  let width = 4;
  for (const t of checkpoint.tensors) width = Math.max(width, t.name.length);
  return [
    `${'name'.padEnd(width)}  dtype  shape`,
    ...checkpoint.tensors.map(
      (t) => `${t.name.padEnd(width)}  ${t.dtype.padEnd(5)}  [${t.shape.join(', ')}]`,
    ),
  ];
}

/** Runs one part of the report; a bad-input error becomes a line of the report instead of ending it. */
async function section<T>(label: string, failures: string[], run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ModelFileError)) throw error;
    failures.push(`${label}: ${error.message}`);
    return undefined;
  }
}

export const inspect: Command = {
  name: 'inspect',
  summary: 'show a model folder: architecture, tokenizer, tensors, parameter count and size',
  synopsis: 'inspect MODEL_DIR [--no-tensors]',
  description:
    'MODEL_DIR is a Hugging Face model folder (config.json, *.safetensors, tokenizer files) or one .safetensors file.',
  options: [{ name: 'no-tensors', help: 'leave out the table of tensors (name, dtype, shape)' }],
  positionals: { name: 'MODEL_DIR', min: 1, max: 1 },
  async run(argv) {
    const args = parseCommandLine(this, argv);
    const path = args.positionals[0];
    const failures: string[] = [];
    const folder: ModelFolder = await openFolder(path).catch((error) => {
      throw error instanceof ModelFileError ? new UsageError(error.message) : error;
    });
    console.log(`model:        ${folder.name} (${folder.files.size} files)`);
    const looseFile = folder.files.size === 1 && [...folder.files.keys()][0].endsWith('.safetensors');
    const config = looseFile ? undefined : await section('config', failures, () => loadModelConfig(folder));
    if (config) for (const line of describeConfig(config)) console.log(line);
    const tokenizer = config
      ? await section('tokenizer', failures, () => loadTokenizer(folder, config))
      : undefined;
    if (tokenizer) {
      const bos =
        tokenizer.bosId === undefined
          ? 'no BOS'
          : `BOS ${tokenizer.bosId}${tokenizer.addsBos ? ' (added)' : ''}`;
      const eos = tokenizer.eosId === undefined ? 'no EOS' : `EOS ${tokenizer.eosId}`;
      console.log(`tokenizer:    ${tokenizer.source}, ${tokenizer.vocabSize} tokens, ${bos}, ${eos}`);
    }
    const checkpoint = await section('weights', failures, () => openCheckpoint(folder));
    if (checkpoint) {
      for (const line of describeWeights(checkpoint)) console.log(line);
      if (!flag(args, 'no-tensors')) console.log(['', ...tensorTable(checkpoint)].join('\n'));
    }
    for (const failure of failures) console.error(`error: ${failure}`);
    return failures.length ? 2 : 0;
  },
};

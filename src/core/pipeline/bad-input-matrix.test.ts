/**
 * The issue's bad-input matrix, seen through the whole pipeline's entry points (openModel, pruneModel, the text-file
 * readers): each case is a defect a user can hand us, with the message they read. After every case the GPU context
 * holds no more buffer bytes than before it, and after every group the same context prunes a valid model, so one bad
 * input never leaves the app unusable. The loaders' own detail (every safetensors defect, index problems, tokenizer
 * variants) is in src/core/io/bad-input.test.ts; the cases here repeat a few of those only to prove that the
 * pipeline surfaces them unchanged.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { openRandomCheckpoint, randomCheckpoint, tinyLlamaConfig } from '../../../test/checkpoints';
import { useGpu } from '../../../test/gpu';
import type { GpuContext } from '../gpu/context';
import { memoryByteSink, memoryByteSource } from '../io/bytes';
import { openCheckpoint } from '../io/checkpoint';
import { createModelFolder, type ModelFolder } from '../io/folder';
import { encodeSafetensors, type TensorToWrite } from '../io/safetensors-write';
import type { ModelConfig } from '../model/types';
import { readTextInput } from '../text/text-file';
import { drawCalibrationWindows } from './calibration';
import { type OpenedModel, openModel } from './open-model';
import { pruneModel } from './prune-model';
import { referenceSequentialPrune } from './sequential.reference';
import { DEFAULT_SETTINGS, type PruneSettings, type RunResult } from './types';

const demo = new URL('../../../public/demo/stories260K/', import.meta.url);
const demoFiles = new Map<string, Uint8Array>(
  readdirSync(demo).map((name) => [name, new Uint8Array(readFileSync(new URL(name, demo)))] as const),
);
const calibrationText = readFileSync(new URL('calibration.txt', demo), 'utf8');
const demoConfig = JSON.parse(readFileSync(new URL('config.json', demo), 'utf8'));
const demoTokenizer = JSON.parse(readFileSync(new URL('tokenizer.json', demo), 'utf8'));
const json = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const TINY: PruneSettings = { ...DEFAULT_SETTINGS, nsamples: 2, seqlen: 16 };
const Q_PROJ = 'model.layers.0.self_attn.q_proj.weight';

/** The demo folder with some files replaced (bytes) or removed (null). */
function demoFolder(changes: Record<string, Uint8Array | null> = {}): ModelFolder {
  const files = new Map(demoFiles);
  for (const [path, bytes] of Object.entries(changes)) {
    if (bytes) files.set(path, bytes);
    else files.delete(path);
  }
  return createModelFolder(
    'stories260K',
    [...files].map(([path, bytes]) => [path, memoryByteSource(bytes, path)] as const),
  );
}

let demoTensors: TensorToWrite[] = [];

/** The demo's tensors re-encoded after `edit` (which gets fresh copies it may change). */
function demoCheckpoint(edit: (tensors: TensorToWrite[]) => TensorToWrite[]): Uint8Array {
  return encodeSafetensors(edit(demoTensors.map((t) => ({ ...t, data: t.data.slice() }))));
}

const withTensor = (name: string, change: (t: TensorToWrite) => TensorToWrite) =>
  demoCheckpoint((tensors) => tensors.map((t) => (t.name === name ? change(t) : t)));

function withValue(name: string, index: number, value: number): Uint8Array {
  return withTensor(name, (t) => {
    (t.data as Float32Array)[index] = value;
    return t;
  });
}

/** The demo split into two shards with an index; the second shard is then left out. */
function shardedWithoutSecond(): Record<string, Uint8Array | null> {
  const half = Math.ceil(demoTensors.length / 2);
  const shards = [demoTensors.slice(0, half), demoTensors.slice(half)];
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const weightMap = Object.fromEntries(shards.flatMap((s, i) => s.map((t) => [t.name, names[i]])));
  return {
    'model.safetensors': null,
    [names[0]]: encodeSafetensors(shards[0]),
    'model.safetensors.index.json': json({ metadata: {}, weight_map: weightMap }),
  };
}

/** A tiny random Llama (2 blocks, hidden 24) in the exact HF layout, opened as the pipeline would open it. */
async function randomLlama(edit: (tensors: Map<string, Float32Array>) => void = () => undefined) {
  const config: ModelConfig = tinyLlamaConfig();
  const random = randomCheckpoint(config);
  edit(random.tensors);
  const model = await openRandomCheckpoint(config, random);
  return { model, tensors: random.tensors };
}

const RANDOM_TEXT = 'The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs. '.repeat(
  8,
);

/** Prunes the random model to memory and returns the written weights beside the float64 pipeline's. */
async function pruneAgainstReference(
  ctx: GpuContext,
  model: OpenedModel,
  tensors: Map<string, Float32Array>,
) {
  const settings: PruneSettings = { ...TINY, nsamples: 4 };
  const sinks = new Map<string, ReturnType<typeof memoryByteSink>>();
  const sinkFor = async (path: string) => {
    const sink = memoryByteSink();
    sinks.set(path, sink);
    return sink;
  };
  const { result } = await pruneModel(
    ctx,
    model,
    settings,
    { calibration: RANDOM_TEXT },
    { output: { sinkFor } },
  );
  const written = await openCheckpoint(
    createModelFolder(
      'out',
      [...sinks].map(([path, sink]) => [path, memoryByteSource(sink.bytes(), path)] as const),
    ),
  );
  const calibration = drawCalibrationWindows(model.tokenizer.encode(RANDOM_TEXT), settings, 64);
  const windows = { ids: calibration.ids, seqLen: calibration.seqlen };
  const reference = referenceSequentialPrune(model.arch, tensors, windows, windows, settings);
  return { result, written, reference };
}

/** Columns of a row-major [rows, cols] matrix that are zero in every row. */
function zeroColumns(W: ArrayLike<number>, cols: number): number[] {
  const zero: number[] = [];
  for (let c = 0; c < cols; c++) {
    let all = true;
    for (let i = c; i < W.length && all; i += cols) all = W[i] === 0;
    if (all) zero.push(c);
  }
  return zero;
}

type Outcome = { error: unknown } | { result: unknown };

interface Case {
  name: string;
  run: (ctx: GpuContext, model: OpenedModel) => Promise<unknown>;
  /** The error's class name, its ModelFileError code if any, and the text the user reads. */
  error?: { name: string; code?: string; message: RegExp };
  /** For inputs that are odd but usable: what the finished run must show. */
  check?: (result: RunResult) => void;
}

const open = (changes: Record<string, Uint8Array | null>) => () => openModel(demoFolder(changes));
const prune =
  (settings: Partial<PruneSettings>, texts: { calibration?: string; evaluation?: string } = {}) =>
  (ctx: GpuContext, model: OpenedModel) =>
    pruneModel(ctx, model, { ...TINY, ...settings }, { calibration: calibrationText, ...texts });
const pruneFolder = (changes: () => Record<string, Uint8Array | null>) => async (ctx: GpuContext) =>
  pruneModel(ctx, (await openModel(demoFolder(changes()))).model, TINY, { calibration: calibrationText });
const readText = (bytes: Uint8Array, name: string) => () => readTextInput(new Blob([bytes.slice()]), name);
const modelFile = (code: string, message: RegExp) => ({ name: 'ModelFileError', code, message });
const settingsError = (message: RegExp) => ({ name: 'SettingsError', message });

const GROUPS: Record<string, Case[]> = {
  checkpoint: [
    {
      name: 'truncated',
      run: open({ 'model.safetensors': demoFiles.get('model.safetensors')?.subarray(0, 1_044_000) ?? null }),
      error: modelFile(
        'truncated',
        /^model\.safetensors is truncated: tensor \S+ needs bytes \d+–\d+ but the file ends at byte 1044000 .*was the download interrupted\?/,
      ),
    },
    {
      name: 'not a safetensors file (a PNG renamed)',
      run: open({
        'model.safetensors': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
      }),
      error: modelFile(
        'not-safetensors',
        /^model\.safetensors is not a safetensors file: it looks like a PNG image$/,
      ),
    },
    {
      name: 'a tensor the config needs is missing',
      run: () =>
        open({
          'model.safetensors': demoCheckpoint((t) =>
            t.filter((x) => x.name !== 'model.layers.3.mlp.up_proj.weight'),
          ),
        })(),
      error: modelFile(
        'tensor-not-found',
        /^The checkpoint has no tensor "model\.layers\.3\.mlp\.up_proj\.weight", which a llama model with this config\.json needs\. Is config\.json from the same model/,
      ),
    },
    {
      name: 'shape differs from the config',
      run: () =>
        open({
          'model.safetensors': withTensor(Q_PROJ, (t) => ({
            ...t,
            shape: [32, 64],
            data: t.data.subarray(0, 2048),
          })),
        })(),
      error: modelFile(
        'bad-shape',
        /^Tensor "model\.layers\.0\.self_attn\.q_proj\.weight" has shape \[32, 64\] but config\.json implies \[64, 64\]: the config and the weights do not belong together\.$/,
      ),
    },
    {
      name: 'same element count, other shape',
      run: () => open({ 'model.safetensors': withTensor(Q_PROJ, (t) => ({ ...t, shape: [128, 32] })) })(),
      error: modelFile('bad-shape', /has shape \[128, 32\] but config\.json implies \[64, 64\]/),
    },
    ...(['I8', 'F8_E4M3'] as const).map(
      (dtype): Case => ({
        name: `a linear stored as ${dtype}`,
        run: () =>
          open({
            'model.safetensors': withTensor(Q_PROJ, (t) => ({ ...t, dtype, data: new Uint8Array(4096) })),
          })(),
        error: modelFile(
          'unsupported-dtype',
          new RegExp(
            `^Tensor "model\\.layers\\.0\\.self_attn\\.q_proj\\.weight" is stored as ${dtype}; weights must be F32, F16 or BF16 to be pruned \\(quantized checkpoints cannot be pruned: use the original model\\)\\.$`,
          ),
        ),
      }),
    ),
    {
      name: 'NaN in a linear',
      run: pruneFolder(() => ({ 'model.safetensors': withValue(Q_PROJ, 70, Number.NaN) })),
      error: modelFile(
        'non-finite-weights',
        /^Tensor "model\.layers\.0\.self_attn\.q_proj\.weight" holds 1 NaN or infinite value \(the first, NaN, at element 70\): the checkpoint is damaged/,
      ),
    },
    {
      name: '±Infinity in a linear',
      run: pruneFolder(() => ({
        'model.safetensors': withValue('model.layers.0.mlp.down_proj.weight', 5, Number.POSITIVE_INFINITY),
      })),
      error: modelFile(
        'non-finite-weights',
        /^Tensor "model\.layers\.0\.mlp\.down_proj\.weight" holds 1 NaN or infinite value \(the first, Infinity, at element 5\)/,
      ),
    },
    {
      name: 'a shard is missing',
      run: () => open(shardedWithoutSecond())(),
      error: modelFile(
        'missing-shard',
        /^stories260K is incomplete: model\.safetensors\.index\.json lists model-00002-of-00002\.safetensors \(with \d+ tensors, e\.g\. \S+\) but the folder has no such file\. Add the missing shard\.$/,
      ),
    },
  ],
  config: [
    {
      name: 'config.json missing',
      run: open({ 'config.json': null }),
      error: modelFile(
        'missing-config',
        /^stories260K has no config\.json, so its architecture is unknown\./,
      ),
    },
    {
      name: 'unsupported model_type',
      run: open({ 'config.json': json({ ...demoConfig, model_type: 'mamba' }) }),
      error: modelFile(
        'unsupported-architecture',
        /^model_type "mamba" is not supported\. Supported: llama, mistral, qwen2/,
      ),
    },
    {
      name: 'negative hidden_size',
      run: open({ 'config.json': json({ ...demoConfig, hidden_size: -64 }) }),
      error: modelFile('bad-config', /^config\.json: "hidden_size" is -64; expected a whole number ≥ 1$/),
    },
    {
      name: 'key/value heads that do not divide the heads',
      run: open({ 'config.json': json({ ...demoConfig, num_key_value_heads: 3 }) }),
      error: modelFile(
        'bad-config',
        /"num_key_value_heads" is 3; expected a divisor of num_attention_heads \(8\)/,
      ),
    },
    {
      name: 'rms_norm_eps of 0',
      run: open({ 'config.json': json({ ...demoConfig, rms_norm_eps: 0 }) }),
      error: modelFile('bad-config', /"rms_norm_eps" is 0; expected a positive number/),
    },
    {
      name: 'more layers than the checkpoint has',
      run: open({ 'config.json': json({ ...demoConfig, num_hidden_layers: 9 }) }),
      // Issue 13: a layer-count mismatch names both numbers (it was "no tensor model.layers.5…").
      error: modelFile(
        'config-mismatch',
        /config\.json gives num_hidden_layers = 9 but the checkpoint has tensors for 5 blocks/,
      ),
    },
    {
      name: 'intermediate_size that does not match the weights',
      run: open({ 'config.json': json({ ...demoConfig, intermediate_size: 256 }) }),
      error: modelFile(
        'bad-shape',
        /"model\.layers\.0\.mlp\.gate_proj\.weight" has shape \[172, 64\] but config\.json implies \[256, 64\]/,
      ),
    },
    {
      name: 'config.json that is not JSON',
      run: open({ 'config.json': json('{"model_type": "llama",') }),
      error: modelFile('bad-json', /^config\.json is not valid JSON/),
    },
  ],
  tokenizer: [
    {
      name: 'tokenizer missing',
      run: open({ 'tokenizer.json': null }),
      error: modelFile(
        'missing-tokenizer',
        /^stories260K has no tokenizer: expected tokenizer\.json \(or vocab\.json and merges\.txt\) beside config\.json$/,
      ),
    },
    {
      name: 'tokenizer with more tokens than the model',
      run: open({
        'tokenizer.json': json({
          ...demoTokenizer,
          added_tokens: [
            ...demoTokenizer.added_tokens,
            ...Array.from({ length: 8 }, (_, i) => ({ id: 512 + i, content: `<extra_${i}>`, special: true })),
          ],
        }),
      }),
      error: modelFile(
        'tokenizer-mismatch',
        /^the tokenizer \(tokenizer\.json\) has 520 tokens but the model's vocab_size is 512: this tokenizer belongs to a different model$/,
      ),
    },
    {
      name: 'config vocab_size smaller than the tokenizer',
      run: open({ 'config.json': json({ ...demoConfig, vocab_size: 256 }) }),
      error: modelFile('tokenizer-mismatch', /has 512 tokens but the model's vocab_size is 256/),
    },
    {
      name: 'tokenizer.json that is not JSON',
      run: open({ 'tokenizer.json': json('{"model": ') }),
      error: modelFile('bad-json', /^tokenizer\.json is not valid JSON/),
    },
  ],
  texts: [
    {
      name: 'empty calibration text',
      run: prune({}, { calibration: '' }),
      error: {
        name: 'CalibrationError',
        message: /^The calibration text is empty or too short: it has 1 token, and at least 2 are needed\./,
      },
    },
    {
      name: 'calibration text of whitespace only',
      run: prune({}, { calibration: '  \n\n\t ' }),
      error: {
        name: 'CalibrationError',
        message: /^The calibration text holds only spaces and line breaks\./,
      },
    },
    {
      name: 'calibration and evaluation texts shorter than one sample: runs, with notes',
      run: prune(
        { skipLayers: ['layers.1.', 'layers.2.', 'layers.3.', 'layers.4.'] },
        { calibration: 'Once upon a time', evaluation: 'The end.' },
      ),
      check: (result) => {
        expect(result.notes).toEqual(
          expect.arrayContaining([
            expect.stringMatching(
              /^The calibration text has only \d tokens, fewer than one sample of 16; used 1 sample of \d tokens instead\./,
            ),
            expect.stringMatching(
              /^The evaluation text has \d tokens, fewer than one window of 16; scored one window/,
            ),
          ]),
        );
        expect(Number.isFinite(result.pruned?.perplexity)).toBe(true);
      },
    },
    {
      name: 'calibration file that is not UTF-8',
      run: readText(new Uint8Array([0xff, 0xfe, 0x00, 0x41, 0xc3, 0x28, 0x80]), 'calibration.bin'),
      error: {
        name: 'TextFileError',
        message: /^calibration\.bin is not UTF-8 text\. Use a \.txt or \.jsonl file\.$/,
      },
    },
    {
      name: 'calibration file with NUL bytes',
      run: readText(json('ELF\u0000\u0001\u0000binary'), 'calibration.txt'),
      error: { name: 'TextFileError', message: /^calibration\.txt looks like a binary file, not text\./ },
    },
    {
      name: 'evaluation text of one token',
      run: async (ctx) =>
        pruneModel(ctx, (await randomLlama()).model, TINY, { calibration: RANDOM_TEXT, evaluation: 'x' }),
      error: {
        name: 'EvaluationTextError',
        message:
          /^The evaluation text is too short to measure perplexity: it has 1 token\(s\), at least 2 are needed\.$/,
      },
    },
  ],
  settings: [
    {
      name: 'sparsity 1.0',
      run: prune({ sparsity: 1 }),
      error: settingsError(
        /^Sparsity must be at least 0 and below 1 \(100% would delete every weight\); got 1\.$/,
      ),
    },
    {
      name: 'negative sparsity',
      run: prune({ sparsity: -0.1 }),
      error: settingsError(/^Sparsity must be at least 0 and below 1 .*got -0\.1\.$/),
    },
    {
      name: 'NaN sparsity',
      run: prune({ sparsity: Number.NaN }),
      error: settingsError(/^Sparsity must be .*got NaN\.$/),
    },
    {
      name: 'N > M',
      run: prune({ pattern: { n: 5, m: 4 } }),
      error: settingsError(/^An N:M pattern needs whole numbers with 1 ≤ N < M .*; got 5:4\.$/),
    },
    {
      name: 'N = M',
      run: prune({ pattern: { n: 4, m: 4 } }),
      error: settingsError(/1 ≤ N < M .*; got 4:4\.$/),
    },
    {
      name: 'M = 1',
      run: prune({ pattern: { n: 1, m: 1 } }),
      error: settingsError(/1 ≤ N < M .*; got 1:1\.$/),
    },
    {
      name: 'seqlen above the model positions',
      run: prune({ seqlen: 1024 }),
      error: settingsError(
        /^The sequence length must be a whole number from 2 to the model's 512 positions; got 1024\.$/,
      ),
    },
    {
      name: 'nsamples 0',
      run: prune({ nsamples: 0 }),
      error: settingsError(/^Calibration samples must be a whole number ≥ 1; got 0\.$/),
    },
    {
      name: 'block size 0',
      run: prune({ blockSize: 0 }),
      error: settingsError(/^The block size must be a whole number of columns ≥ 1; got 0\.$/),
    },
    {
      name: 'negative dampening',
      run: prune({ percdamp: -0.01 }),
      error: settingsError(
        /^Dampening must be above 0 and at most 1 \(0% to 100% of the mean Hessian diagonal; the paper uses 0\.01 = 1%\); got -0\.01\.$/,
      ),
    },
    {
      name: 'skip entry that matches nothing',
      run: prune({ skipLayers: ['layers.0.mlp.gate'] }),
      error: settingsError(
        /^"layers\.0\.mlp\.gate" in the layers to skip matches no prunable linear \(e\.g\. "mlp\.down_proj"/,
      ),
    },
  ],
  'singular Hessians': [
    {
      name: 'every calibration token the same: rank-1 Hessians, dampening makes them solvable',
      run: prune({}, { calibration: ' the'.repeat(200) }),
      check: (result) => {
        expect(result.layers).toHaveLength(35);
        for (const layer of result.layers) {
          expect(layer.skipped).toBeUndefined();
          expect(Math.abs(layer.sparsity - 0.5)).toBeLessThan(0.01);
          expect(layer.relativeError).toBeGreaterThanOrEqual(0);
          expect(layer.relativeError).toBeLessThan(1);
        }
      },
    },
    {
      name: 'dead input columns are zeroed in W, as the reference does',
      run: async (ctx) => {
        // Rows 0..4 of gate_proj at zero: silu(0) = 0, so down_proj's inputs 0..4 are zero on every token.
        const { model, tensors } = await randomLlama((t) =>
          t.get('model.layers.0.mlp.gate_proj.weight')?.fill(0, 0, 5 * 24),
        );
        const { result, written, reference } = await pruneAgainstReference(ctx, model, tensors);
        const down = 'model.layers.0.mlp.down_proj.weight';
        const W = await written.readFloat32(down);
        expect(zeroColumns(W, 40).slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
        expect(zeroColumns(reference.weights.get(down) ?? [], 40).slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
        const layer = result.layers.find((l) => l.tensor === down);
        expect(layer?.sparsity).toBeGreaterThanOrEqual(0.5);
        expect(layer?.relativeError).toBeLessThan(1);
        return { result };
      },
      check: (result) => expect(result.layers).toHaveLength(14),
    },
    {
      name: 'a group whose inputs are all zero: every column dead, W all zero, no NaN',
      run: async (ctx) => {
        // A zero post-attention norm makes block 1's MLP inputs zero, and so its down_proj inputs too.
        const { model, tensors } = await randomLlama((t) =>
          t.get('model.layers.1.post_attention_layernorm.weight')?.fill(0),
        );
        const { result, written, reference } = await pruneAgainstReference(ctx, model, tensors);
        for (const name of ['gate_proj', 'up_proj', 'down_proj']) {
          const tensor = `model.layers.1.mlp.${name}.weight`;
          expect((await written.readFloat32(tensor)).every((v) => v === 0)).toBe(true);
          expect(reference.weights.get(tensor)?.every((v) => v === 0)).toBe(true);
          const layer = result.layers.find((l) => l.tensor === tensor);
          expect(layer).toMatchObject({ sparsity: 1, relativeError: 0 });
        }
        return { result };
      },
    },
  ],
};

const PROBE: PruneSettings = { ...TINY, skipLayers: ['layers.1.', 'layers.2.', 'layers.3.', 'layers.4.'] };

describe('bad input through the whole pipeline', () => {
  const gpu = useGpu();
  let model: OpenedModel;
  let baseline = 0;

  /** A small valid run on the context: the first pruned block of the demo, the rest left dense. */
  async function probe(ctx: GpuContext): Promise<void> {
    const { result } = await pruneModel(ctx, model, PROBE, { calibration: calibrationText });
    const pruned = result.layers.filter((l) => !l.skipped);
    expect(pruned).toHaveLength(7);
    for (const layer of pruned) expect(Math.abs(layer.sparsity - 0.5)).toBeLessThan(0.01);
    expect(ctx.memory.current).toBe(baseline);
  }

  beforeAll(async () => {
    const checkpoint = await openCheckpoint(demoFolder());
    demoTensors = await Promise.all(
      checkpoint.tensors.map(async (t) => ({
        name: t.name,
        dtype: 'F32' as const,
        shape: t.shape,
        data: await checkpoint.readFloat32(t.name),
      })),
    );
    model = (await openModel(demoFolder())).model;
    const ctx = await gpu();
    // The first run compiles every pipeline and leaves the context's cached buffers: that is the baseline.
    await pruneModel(ctx, model, PROBE, { calibration: calibrationText });
    baseline = ctx.memory.current;
  });

  for (const [group, cases] of Object.entries(GROUPS)) {
    describe(group, () => {
      for (const c of cases) {
        it(c.name, async () => {
          const ctx = await gpu();
          const outcome: Outcome = await c.run(ctx, model).then(
            (result) => ({ result }),
            (error: unknown) => ({ error }),
          );
          if (c.error) {
            expect('error' in outcome, 'expected the case to fail').toBe(true);
            const error = (outcome as { error: Error & { code?: string } }).error;
            expect(error.name).toBe(c.error.name);
            if (c.error.code) expect(error.code).toBe(c.error.code);
            expect(error.message).toMatch(c.error.message);
          } else {
            if ('error' in outcome) throw outcome.error;
            c.check?.((outcome.result as { result: RunResult }).result);
          }
          expect(ctx.memory.current).toBe(baseline);
        });
      }
      it('afterwards the same GPU context prunes a valid model', async () => probe(await gpu()));
    });
  }
});

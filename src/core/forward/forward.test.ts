import { describe, expect, it } from 'vitest';
import {
  checkpointSource,
  randomCheckpoint,
  randomIds,
  tinyGpt2Config,
  tinyLlamaConfig,
  tinyOptConfig,
} from '../../../test/checkpoints';
import { relativeMaxError } from '../../../test/compare';
import { useGpu } from '../../../test/gpu';
import { createStorageBuffer, readFloat32, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { GpuLimitError } from '../gpu/limits';
import type { ModelConfig } from '../model/types';
import { describeArchitecture, fromOutIn, toOutIn } from './architecture';
import { BlockRunner } from './block-runner';
import { uploadBlock } from './block-weights';
import { maxSequencesPerChunk } from './chunk-fit';
import { embed, uploadEmbedding } from './embedding';
import { ReferenceModel } from './forward.reference';
import { modelNll } from './model-forward';

/** Per-token NLL within 1e-4 relative (absolute below 1): float32 GPU against the float64 reference. */
function expectNllClose(gpu: Float64Array, cpu: Float64Array) {
  expect(gpu.length).toBe(cpu.length);
  let worst = 0;
  for (let i = 0; i < cpu.length; i++) {
    if (Number.isNaN(cpu[i])) {
      expect(gpu[i]).toBeNaN();
      continue;
    }
    worst = Math.max(worst, Math.abs(gpu[i] - cpu[i]) / Math.max(1, Math.abs(cpu[i])));
  }
  expect(worst).toBeLessThan(1e-4);
}

interface ModelCase {
  name: string;
  config: ModelConfig;
  prefix?: string;
  positionOffset?: number;
}

const MODELS: ModelCase[] = [
  {
    name: 'Llama: GQA, q/k/v biases (Qwen2 style), llama3 rope scaling, untied head, unaligned widths',
    config: tinyLlamaConfig({
      hiddenSize: 22,
      biases: { qkv: true, o: false, mlp: false },
      positional: {
        kind: 'rope',
        theta: 500000,
        partialRotaryFactor: 1,
        scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 },
      },
    }),
    positionOffset: 3,
  },
  {
    name: 'Llama: tied embeddings, yarn rope scaling, no prefix',
    config: tinyLlamaConfig({
      tiedEmbeddings: true,
      numKvHeads: 1,
      headDim: 8,
      positional: {
        kind: 'rope',
        theta: 10000,
        partialRotaryFactor: 1,
        scaling: { type: 'yarn', factor: 4 },
      },
    }),
    prefix: '',
  },
  {
    name: 'Llama: dynamic rope scaling past max positions, linear on o/mlp biases',
    config: tinyLlamaConfig({
      maxPositions: 6,
      biases: { qkv: false, o: true, mlp: true },
      positional: {
        kind: 'rope',
        theta: 10000,
        partialRotaryFactor: 1,
        scaling: { type: 'dynamic', factor: 2 },
      },
    }),
  },
  {
    name: 'OPT: pre-norm, tied, "decoder." prefix (facebook/opt-* files)',
    config: tinyOptConfig(),
    prefix: 'decoder.',
  },
  {
    name: 'OPT: post-norm with project_in/out and no final norm (opt-350m), untied',
    config: tinyOptConfig({ doLayerNormBefore: false, wordEmbedProjDim: 12, tiedEmbeddings: false }),
    positionOffset: 4,
  },
  { name: 'GPT-2: Conv1D weights, fused c_attn, gelu_new', config: tinyGpt2Config() },
  {
    name: 'GPT-2 without the "transformer." prefix, exact gelu',
    config: tinyGpt2Config({ activation: 'gelu' }),
    prefix: '',
  },
];

describe('whole-model forward on the GPU against the float64 reference', () => {
  const gpu = useGpu();

  it.each(MODELS)('$name: per-token NLL agrees', async ({ config, prefix, positionOffset }) => {
    const ctx = await gpu();
    const checkpoint = randomCheckpoint(config, { seed: 7, prefix });
    const arch = describeArchitecture(config, checkpoint.names);
    const [sequences, seqLen] = [3, 9];
    const ids = randomIds(sequences * seqLen, config.vocabSize, 3);
    const reference = new ReferenceModel(config, checkpoint.tensor, checkpoint.names);
    const cpu = reference.forwardNll(ids, { sequences, seqLen, positionOffset });
    const gpuNll = await modelNll(ctx, arch, checkpointSource(checkpoint), ids, {
      seqLen,
      sequencesPerChunk: 2,
      positionOffset,
    });
    expectNllClose(gpuNll, cpu);
    // Guard against a vacuous comparison: the random models are far from uniform.
    const finite = [...cpu].filter((x) => !Number.isNaN(x));
    expect(Math.max(...finite) - Math.min(...finite)).toBeGreaterThan(1);
  });

  it.each(MODELS.filter((m) => m.config.family !== 'llama' || m.prefix === ''))(
    '$name: captured group inputs are the reference inputs',
    async ({ config, prefix }) => {
      const ctx = await gpu();
      const checkpoint = randomCheckpoint(config, { seed: 8, prefix });
      const arch = describeArchitecture(config, checkpoint.names);
      const shape = { sequences: 2, seqLen: 7 };
      const tokens = shape.sequences * shape.seqLen;
      const ids = randomIds(tokens, config.vocabSize, 4);
      const reference = new ReferenceModel(config, checkpoint.tensor, checkpoint.names);
      const expected = new Map<string, Float64Array>();
      reference.block(1, reference.embed(ids, shape), shape, (role, X) => expected.set(role, X));

      const embedding = await uploadEmbedding(ctx, arch, checkpointSource(checkpoint));
      const hidden = await embed(ctx, arch, embedding, ids, shape);
      const out = createStorageBuffer(ctx, hidden.size, 'out');
      const runner = new BlockRunner(ctx, arch, shape);
      const block0 = await uploadBlock(ctx, arch, 0, checkpointSource(checkpoint));
      const block1 = await uploadBlock(ctx, arch, 1, checkpointSource(checkpoint));
      // The reference ran block 1 on embeddings; do the same on the GPU.
      const captured = new Map<string, Float32Array>();
      await runner.run(block1, hidden, out, {
        ...shape,
        capture: async (group, X, count) => {
          expect(count).toBe(tokens);
          captured.set(group.role, await readFloat32(ctx, X, count * group.features));
        },
      });
      expect([...captured.keys()]).toEqual(['attention', 'attention_output', 'mlp', 'mlp_output']);
      for (const [role, X] of captured) expect(relativeMaxError(X, expected.get(role)!)).toBeLessThan(1e-5);
      for (const b of [hidden, out]) b.destroy();
      for (const w of [block0, block1, embedding]) w.destroy();
      runner.destroy();
    },
  );

  it.each([MODELS[0], MODELS[3], MODELS[5]])(
    '$name: replaceLinear swaps one pruned weight (host and GPU buffer), in the pruner orientation',
    async ({ config, prefix }) => {
      const ctx = await gpu();
      const checkpoint = randomCheckpoint(config, { seed: 9, prefix });
      const arch = describeArchitecture(config, checkpoint.names);
      const shape = { sequences: 2, seqLen: 5 };
      const ids = randomIds(shape.sequences * shape.seqLen, config.vocabSize, 5);
      const block = arch.block(0);
      const [first, last] = [block.linears[0], block.linears[block.linears.length - 1]];
      // "Prune" by zeroing every other weight of the [rows, cols] matrix, as the solver hands them back.
      const pruned = (spec: typeof first) =>
        toOutIn(spec, checkpoint.tensor(spec.tensor)).map((w, i) => (i % 2 === 0 ? 0 : w));
      const modified = new Map(checkpoint.tensors);
      for (const spec of [first, last]) modified.set(spec.tensor, fromOutIn(spec, pruned(spec)));
      const reference = new ReferenceModel(config, (n) => modified.get(n)!, checkpoint.names);
      const expected = reference.block(0, reference.embed(ids, shape), shape);

      const embedding = await uploadEmbedding(ctx, arch, checkpointSource(checkpoint));
      const hidden = await embed(ctx, arch, embedding, ids, shape);
      const out = createStorageBuffer(ctx, hidden.size, 'out');
      const weights = await uploadBlock(ctx, arch, 0, checkpointSource(checkpoint));
      weights.replaceLinear(first.name, pruned(first));
      const onGpu = uploadFloat32(ctx, pruned(last), 'pruned');
      weights.replaceLinear(last.tensor, onGpu);
      const runner = new BlockRunner(ctx, arch, shape);
      await runner.run(weights, hidden, out, shape);
      const result = await readFloat32(ctx, out, expected.length);
      expect(relativeMaxError(result, expected)).toBeLessThan(1e-5);
      expect(() => weights.replaceLinear('nonexistent', pruned(first))).toThrow(
        /has no linear "nonexistent"/,
      );
      expect(() => weights.replaceLinear(first.name, new Float32Array(3))).toThrow(/has 3 values/);
      for (const b of [hidden, out, onGpu]) b.destroy();
      weights.destroy();
      embedding.destroy();
      runner.destroy();
    },
  );
});

describe('forward under small storage binding limits', () => {
  // 2 KiB bindings: embeddings, LM head and block weights split by rows into parts, logits into vocabulary slices.
  const gpu = useGpu({ testLimits: { maxStorageBufferBindingSize: 2048 } });

  it('splits every large tensor and still matches the reference (Llama and OPT)', async () => {
    const ctx = await gpu();
    for (const config of [tinyLlamaConfig(), tinyOptConfig({ wordEmbedProjDim: 12 })]) {
      const checkpoint = randomCheckpoint(config, { seed: 10 });
      const arch = describeArchitecture(config, checkpoint.names);
      const seqLen = 4;
      const ids = randomIds(3 * seqLen, config.vocabSize, 6);
      const cpu = new ReferenceModel(config, checkpoint.tensor, checkpoint.names).forwardNll(ids, {
        sequences: 3,
        seqLen,
      });
      expectNllClose(await modelNll(ctx, arch, checkpointSource(checkpoint), ids, { seqLen }), cpu);
    }
  });

  it('advises as many sequences per chunk as run without token slices, and takes more', async () => {
    const ctx = await gpu();
    const arch = describeArchitecture(tinyLlamaConfig());
    const seqLen = 4;
    // The widest intermediate is gate|up: 2 · 40 floats per token = 320 bytes; 2048 / (320 · 4) → 1 sequence.
    expect(maxSequencesPerChunk(ctx, arch, seqLen)).toBe(1);
    // Two sequences run with the MLP in token slices (token-slices.test.ts checks the numbers).
    const runner = new BlockRunner(ctx, arch, { sequences: 2, seqLen });
    expect(runner.tokensPerSlice).toBe(6);
    runner.destroy();
    // q|k|v past one binding (48 floats per token: 10 tokens fit) runs in head groups, hidden states past one in
    // token ranges; one key/value head's q|k|v of a sequence must fit one binding: 24 floats per token → 21 tokens.
    expect(maxSequencesPerChunk(ctx, arch, 21)).toBe(1);
    expect(() => new BlockRunner(ctx, arch, { sequences: 1, seqLen: 64 })).toThrow(GpuLimitError);
    expect(() => new BlockRunner(ctx, arch, { sequences: 1, seqLen: 64 })).toThrow(
      /q\|k\|v projection .* of 1 sequences × 64 tokens .* lower seqLen to 21 or fewer/,
    );
  });
});

describe('bad input', () => {
  const gpu = useGpu();

  it('rejects token ids outside the vocabulary, positions past the table, and wrong tensor sizes', async () => {
    const ctx: GpuContext = await gpu();
    const config = tinyGpt2Config();
    const checkpoint = randomCheckpoint(config);
    const arch = describeArchitecture(config, checkpoint.names);
    const embedding = await uploadEmbedding(ctx, arch, checkpointSource(checkpoint));
    await expect(embed(ctx, arch, embedding, [1, 2, 57], { sequences: 1, seqLen: 3 })).rejects.toThrow(
      /token id 57 at position 2 is outside the vocabulary \[0, 57\)/,
    );
    await expect(
      embed(ctx, arch, embedding, new Array(41).fill(0), { sequences: 1, seqLen: 41 }),
    ).rejects.toThrow(/position 40 is past this model's 40 learned positions: lower seqLen to 40/);
    embedding.destroy();
    const wrong = async (name: string) =>
      name.endsWith('c_fc.weight') ? new Float32Array(5) : checkpoint.tensor(name);
    await expect(uploadBlock(ctx, arch, 0, wrong)).rejects.toThrow(
      /tensor "transformer.h.0.mlp.c_fc.weight" has 5 values where the model config implies 1024/,
    );
  });
});

/**
 * Attention split by head ranges when the q|k|v of a chunk does not fit one storage binding (Llama-7B at seqLen
 * 4096: 192 MiB against the default 128 MiB). Under lowered limits (binding and buffer size) the fused q|k|v of the
 * two-sequence chunk exceeds the limit while one head group's fits; each group (key/value heads with the query
 * heads that read them) is projected, rotated and attended to on its own. The block output and every captured
 * input must be the float64 reference's and bit-identical to the same block under the device's real limits, where
 * the q|k|v is one fused matmul: every token and head goes through the same arithmetic.
 */
import { describe, expect, it } from 'vitest';
import {
  checkpointSource,
  type RandomCheckpoint,
  randomCheckpoint,
  randomIds,
  tinyGpt2Config,
  tinyLlamaConfig,
  tinyOptConfig,
} from '../../../test/checkpoints';
import { relativeMaxError } from '../../../test/compare';
import { expectSplitNll, recordCaptures } from '../../../test/forward-checks';
import { useGpu } from '../../../test/gpu';
import { createStorageBuffer, readFloat32, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { GpuLimitError } from '../gpu/limits';
import type { ModelConfig } from '../model/types';
import { type Architecture, describeArchitecture } from './architecture';
import { BlockRunner } from './block-runner';
import { uploadBlock } from './block-weights';
import { maxSequencesPerChunk } from './chunk-fit';
import { ReferenceModel } from './forward.reference';
import type { HeadGroup } from './head-groups';
import { modelNll } from './model-forward';

const SHAPE = { sequences: 2, seqLen: 11 };
const TOKENS = SHAPE.sequences * SHAPE.seqLen;
/** Two lowered limits, so that the cases below split into groups of one and of several key/value heads. */
const LOW = 2560;
const HIGHER = 3072;

/** Runs block 0 once and returns its output, each group's captured rows joined in call order, and the plan. */
async function runBlockOnce(
  ctx: GpuContext,
  arch: Architecture,
  checkpoint: RandomCheckpoint,
  input: Float32Array,
): Promise<{ out: Float32Array; captured: Map<string, Float32Array>; headGroups: readonly HeadGroup[] }> {
  const weights = await uploadBlock(ctx, arch, 0, checkpointSource(checkpoint));
  const hidden = uploadFloat32(ctx, input, 'hidden');
  const out = createStorageBuffer(ctx, hidden.size, 'out');
  const runner = new BlockRunner(ctx, arch, SHAPE);
  const { captured, capture } = recordCaptures(ctx);
  try {
    await runner.run(weights, hidden, out, { ...SHAPE, capture });
    return {
      out: await readFloat32(ctx, out, input.length),
      captured: captured.rows,
      headGroups: runner.headGroups,
    };
  } finally {
    runner.destroy();
    weights.destroy();
    for (const b of [hidden, out]) b.destroy();
  }
}

function groups(...sizes: number[]): HeadGroup[] {
  let first = 0;
  return sizes.map((kvHeads) => {
    const group = { firstKvHead: first, kvHeads };
    first += kvHeads;
    return group;
  });
}

const CASES: Array<{ name: string; config: ModelConfig; limit: number; expected: HeadGroup[] }> = [
  {
    // 6 query heads on 3 key/value heads of 4, with q/k/v biases (Qwen2 style): 48 floats of q|k|v per token,
    // 16 per key/value head. 22 tokens: 4.1 KiB whole, 1.4 KiB per key/value head, so two fit 3 KiB.
    name: 'Llama (GQA, q/k/v biases): groups of 2 and 1 key/value heads',
    config: tinyLlamaConfig({
      numHeads: 6,
      numKvHeads: 3,
      headDim: 4,
      biases: { qkv: true, o: false, mlp: false },
    }),
    limit: HIGHER,
    expected: groups(2, 1),
  },
  {
    // Multi-head: 4 heads of 5, q|k|v from three separate linears with biases; 15 floats per head.
    name: 'OPT (MHA, separate q/k/v linears): one head per group',
    config: tinyOptConfig(),
    limit: LOW,
    expected: groups(1, 1, 1, 1),
  },
  {
    name: 'OPT-350m style (post-norm, projects the block input): groups of 2 heads',
    config: tinyOptConfig({ doLayerNormBefore: false }),
    limit: HIGHER,
    expected: groups(2, 2),
  },
  {
    // GPT-2's q|k|v is one transposed Conv1D (c_attn), its rows split by head all the same.
    name: 'GPT-2 (MHA, fused c_attn): one head per group',
    config: tinyGpt2Config(),
    limit: LOW,
    expected: groups(1, 1),
  },
];

describe('attention in head groups when the q|k|v of a chunk exceeds the binding limit', () => {
  const normal = useGpu();
  const lowered: Record<number, () => Promise<GpuContext>> = {
    [LOW]: useGpu({ testLimits: { maxStorageBufferBindingSize: LOW, maxBufferSize: LOW } }),
    [HIGHER]: useGpu({ testLimits: { maxStorageBufferBindingSize: HIGHER, maxBufferSize: HIGHER } }),
  };

  it.each(CASES)(
    '$name: output and captured inputs match the reference and the unsplit run',
    async ({ config, limit, expected: expectedGroups }) => {
      const [low, high] = [await lowered[limit](), await normal()];
      const checkpoint = randomCheckpoint(config, { seed: 31 });
      const arch = describeArchitecture(config, checkpoint.names);
      const qkvPerToken = (arch.heads + 2 * arch.kvHeads) * arch.headDim * 4;
      expect(TOKENS * qkvPerToken).toBeGreaterThan(limit);

      const ids = randomIds(TOKENS, config.vocabSize, 32);
      const reference = new ReferenceModel(config, checkpoint.tensor, checkpoint.names);
      const input = Float32Array.from(reference.embed(ids, SHAPE));
      const expectedInputs = new Map<string, Float64Array>();
      const expected = reference.block(0, Float64Array.from(input), SHAPE, (role, X) =>
        expectedInputs.set(role, X),
      );

      const split = await runBlockOnce(low, arch, checkpoint, input);
      const whole = await runBlockOnce(high, arch, checkpoint, input);
      expect(split.headGroups).toEqual(expectedGroups);
      for (const group of split.headGroups) {
        const perToken = qkvPerToken * (group.kvHeads / arch.kvHeads);
        expect(TOKENS * perToken).toBeLessThanOrEqual(limit);
      }
      // Under the real limits: one group of every head, the fused projection of today's fast path.
      expect(whole.headGroups).toEqual(groups(arch.kvHeads));

      expect(relativeMaxError(split.out, expected)).toBeLessThan(1e-5);
      expect(split.out).toEqual(whole.out);
      expect([...split.captured.keys()]).toEqual(['attention', 'attention_output', 'mlp', 'mlp_output']);
      for (const [role, rows] of split.captured) {
        expect(relativeMaxError(rows, expectedInputs.get(role)!)).toBeLessThan(1e-5);
        // The same X in token order, however the groups and token slices cut the work.
        expect(rows).toEqual(whole.captured.get(role));
      }
    },
  );

  it('a whole Llama model whose single sequence has more q|k|v than one binding gives the reference NLL', async () => {
    const config = CASES[0].config;
    const ctx = await lowered[HIGHER]();
    const checkpoint = randomCheckpoint(config, { seed: 33 });
    const arch = describeArchitecture(config, checkpoint.names);
    // One 22-token sequence's q|k|v is 4.1 KiB: the seqLen that used to be refused (maxSequencesPerChunk 0).
    const shape = { sequences: 2, seqLen: 22 };
    expect(shape.seqLen * 48 * 4).toBeGreaterThan(HIGHER);
    expect(maxSequencesPerChunk(ctx, arch, shape.seqLen)).toBe(1);
    const ids = randomIds(shape.sequences * shape.seqLen, config.vocabSize, 34);
    const cpu = new ReferenceModel(config, checkpoint.tensor, checkpoint.names).forwardNll(ids, shape);
    const split = await modelNll(ctx, arch, checkpointSource(checkpoint), ids, { seqLen: shape.seqLen });
    const unsplit = await modelNll(await normal(), arch, checkpointSource(checkpoint), ids, {
      seqLen: shape.seqLen,
      sequencesPerChunk: 1,
    });
    expectSplitNll(split, unsplit, cpu);
  });

  it('still refuses, saying what fits, where one head of q|k|v exceeds a binding', async () => {
    const llama = describeArchitecture(CASES[0].config);
    const higher = await lowered[HIGHER]();
    // One key/value head and its 2 query heads are 16 floats of q|k|v per token: 48 tokens fill 3 KiB. (The hidden
    // states, 24 floats per token, of longer sequences go in token ranges: token-ranges.test.ts.)
    expect(maxSequencesPerChunk(higher, llama, 48)).toBe(1);
    expect(maxSequencesPerChunk(higher, llama, 49)).toBe(0);
    const tooLong =
      /^the q\|k\|v projection \(split to one key\/value head and its 2 query heads per group\) of 1 sequences × 49 tokens needs 3\.1 KiB, more than this GPU's storage binding limit of 3\.0 KiB \(attention reads whole sequences\): even one sequence is too long: lower seqLen to 48 or fewer$/;
    expect(() => new BlockRunner(higher, llama, { sequences: 1, seqLen: 49 })).toThrow(GpuLimitError);
    expect(() => new BlockRunner(higher, llama, { sequences: 1, seqLen: 49 })).toThrow(tooLong);
    expect(() => new BlockRunner(higher, llama, { sequences: 3, seqLen: 22 })).toThrow(
      /of 3 sequences × 22 tokens .* lower the sequences per chunk to 2 or fewer$/,
    );
    // A whole forward says the same before it embeds anything.
    const checkpoint = randomCheckpoint(CASES[0].config, { seed: 35 });
    const ids = randomIds(49, CASES[0].config.vocabSize, 36);
    await expect(modelNll(higher, llama, checkpointSource(checkpoint), ids, { seqLen: 49 })).rejects.toThrow(
      tooLong,
    );
    expect(higher.memory.current).toBeLessThan(1024);
    // GPT-2's toy heads (3 · 8 floats of q|k|v per token) are wider than its hidden states (16): 26 tokens fit.
    const gpt2 = describeArchitecture(tinyGpt2Config());
    const low = await lowered[LOW]();
    expect(maxSequencesPerChunk(low, gpt2, 26)).toBe(1);
    expect(maxSequencesPerChunk(low, gpt2, 27)).toBe(0);
    expect(() => new BlockRunner(low, gpt2, { sequences: 1, seqLen: 27 })).toThrow(
      /^the q\|k\|v projection \(split to one head per group\) of 1 sequences × 27 tokens needs 2\.5 KiB, .*\(attention reads whole sequences\): even one sequence is too long: lower seqLen to 26 or fewer$/,
    );
    const runner = new BlockRunner(low, gpt2, { sequences: 1, seqLen: 26 });
    expect(runner.headGroups).toEqual(groups(1, 1));
    runner.destroy();
  });
});

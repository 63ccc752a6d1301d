/**
 * A block whose per-token intermediates do not fit one storage binding runs in token slices: under a 6 KiB limit
 * (binding and buffer size) one 11-token sequence's gate|up projection (8.6 KiB) exceeds it, while the q|k|v of the
 * whole two-sequence chunk (4.1 KiB for Llama) still fits one buffer (head-groups.test.ts covers the q|k|v split). The output and every captured input
 * must be the float64 reference's and, token for token, what the same block gives under the device's real limits.
 */
import { describe, expect, it } from 'vitest';
import {
  checkpointSource,
  type RandomCheckpoint,
  randomCheckpoint,
  randomIds,
  tinyLlamaConfig,
  tinyOptConfig,
} from '../../../test/checkpoints';
import { relativeMaxError } from '../../../test/compare';
import { type Captured, expectSplitNll, recordCaptures } from '../../../test/forward-checks';
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
import { modelNll } from './model-forward';

const LIMIT = 6 * 1024;
const SHAPE = { sequences: 2, seqLen: 11 };
const TOKENS = SHAPE.sequences * SHAPE.seqLen;

/** Each group's captures in call order: the token count of each call and all rows joined. */
async function runBlockOnce(
  ctx: GpuContext,
  arch: Architecture,
  checkpoint: RandomCheckpoint,
  input: Float32Array,
): Promise<{ out: Float32Array; captured: Captured; tokensPerSlice: number }> {
  const weights = await uploadBlock(ctx, arch, 0, checkpointSource(checkpoint));
  const hidden = uploadFloat32(ctx, input, 'hidden');
  const out = createStorageBuffer(ctx, hidden.size, 'out');
  const runner = new BlockRunner(ctx, arch, SHAPE);
  const { captured, capture } = recordCaptures(ctx);
  try {
    await runner.run(weights, hidden, out, {
      ...SHAPE,
      capture,
    });
    return {
      out: await readFloat32(ctx, out, input.length),
      captured,
      tokensPerSlice: runner.tokensPerSlice,
    };
  } finally {
    runner.destroy();
    weights.destroy();
    for (const b of [hidden, out]) b.destroy();
  }
}

const CASES: Array<{ name: string; config: ModelConfig; wholeGroups: string[] }> = [
  {
    name: 'Llama (pre-norm, gated MLP, GQA)',
    config: tinyLlamaConfig({ intermediateSize: 100 }),
    wholeGroups: ['attention_output'],
  },
  {
    name: 'OPT-350m style (post-norm, relu MLP, biases)',
    config: tinyOptConfig({ doLayerNormBefore: false, intermediateSize: 200 }),
    // Post-norm blocks project the block input itself, which the caller holds whole.
    wholeGroups: ['attention', 'attention_output'],
  },
];

describe('a block in token slices when one sequence exceeds the binding limit', () => {
  const normal = useGpu();
  const lowered = useGpu({ testLimits: { maxStorageBufferBindingSize: LIMIT, maxBufferSize: LIMIT } });

  it.each(CASES)(
    '$name: output and captured inputs match the reference and the unsliced run',
    async ({ config, wholeGroups }) => {
      const [low, high] = [await lowered(), await normal()];
      const checkpoint = randomCheckpoint(config, { seed: 21 });
      const arch = describeArchitecture(config, checkpoint.names);
      const mlpWidth = arch.mlp.kind === 'gated' ? 2 * arch.intermediateSize : arch.intermediateSize;
      expect(SHAPE.seqLen * mlpWidth * 4).toBeGreaterThan(LIMIT);
      // Whole sequences would not run unsliced: one per chunk is advised, and a chunk of two is taken in slices.
      expect(maxSequencesPerChunk(low, arch, SHAPE.seqLen)).toBe(1);

      const ids = randomIds(TOKENS, config.vocabSize, 22);
      const reference = new ReferenceModel(config, checkpoint.tensor, checkpoint.names);
      const input = Float32Array.from(reference.embed(ids, SHAPE));
      const expectedInputs = new Map<string, Float64Array>();
      const expected = reference.block(0, Float64Array.from(input), SHAPE, (role, X) =>
        expectedInputs.set(role, X),
      );

      const sliced = await runBlockOnce(low, arch, checkpoint, input);
      const whole = await runBlockOnce(high, arch, checkpoint, input);
      // 800 bytes of MLP intermediate per token: 7 tokens fit, so 22 tokens go as 6 + 6 + 6 + 4 (across sequences).
      expect(sliced.tokensPerSlice).toBe(7);
      expect(whole.tokensPerSlice).toBe(TOKENS);

      expect(relativeMaxError(sliced.out, expected)).toBeLessThan(1e-5);
      // Every token goes through the same arithmetic whatever the slicing.
      expect(sliced.out).toEqual(whole.out);
      expect([...sliced.captured.counts.keys()]).toEqual([
        'attention',
        'attention_output',
        'mlp',
        'mlp_output',
      ]);
      for (const [role, counts] of sliced.captured.counts) {
        expect(counts).toEqual(wholeGroups.includes(role) ? [TOKENS] : [6, 6, 6, 4]);
        expect(whole.captured.counts.get(role)).toEqual([TOKENS]);
        const rows = sliced.captured.rows.get(role)!;
        expect(relativeMaxError(rows, expectedInputs.get(role)!)).toBeLessThan(1e-5);
        expect(rows).toEqual(whole.captured.rows.get(role));
      }
    },
  );

  it('a whole Llama model with two sequences per chunk gives the reference NLL', async () => {
    const config = tinyLlamaConfig({ intermediateSize: 100 });
    const checkpoint = randomCheckpoint(config, { seed: 23 });
    const arch = describeArchitecture(config, checkpoint.names);
    const ids = randomIds(TOKENS, config.vocabSize, 24);
    const cpu = new ReferenceModel(config, checkpoint.tensor, checkpoint.names).forwardNll(ids, SHAPE);
    const options = { seqLen: SHAPE.seqLen, sequencesPerChunk: 2 };
    const sliced = await modelNll(await lowered(), arch, checkpointSource(checkpoint), ids, options);
    const unsliced = await modelNll(await normal(), arch, checkpointSource(checkpoint), ids, options);
    expectSplitNll(sliced, unsliced, cpu);
  });

  it('splits attention by heads past one binding of q|k|v, and refuses past one of one head', async () => {
    const ctx = await lowered();
    const arch = describeArchitecture(tinyLlamaConfig({ intermediateSize: 100 }));
    // q|k|v is 4·6 + 2·2·6 = 48 floats per token: 33 tokens (6.2 KiB) take two head groups (head-groups.test.ts
    // checks the numbers), one key/value head each.
    expect(maxSequencesPerChunk(ctx, arch, 33)).toBe(1);
    const split = new BlockRunner(ctx, arch, { sequences: 1, seqLen: 33 });
    expect(split.headGroups).toEqual([
      { firstKvHead: 0, kvHeads: 1 },
      { firstKvHead: 1, kvHeads: 1 },
    ]);
    split.destroy();
    // One key/value head with its 2 query heads (24 floats per token) must hold whole sequences: 64 tokens fill
    // 6 KiB. (The hidden states of longer chunks go in token ranges: token-ranges.test.ts.)
    expect(maxSequencesPerChunk(ctx, arch, 64)).toBe(1);
    expect(maxSequencesPerChunk(ctx, arch, 65)).toBe(0);
    expect(() => new BlockRunner(ctx, arch, { sequences: 1, seqLen: 65 })).toThrow(GpuLimitError);
    expect(() => new BlockRunner(ctx, arch, { sequences: 1, seqLen: 65 })).toThrow(
      /^the q\|k\|v projection \(split to one key\/value head and its 2 query heads per group\) of 1 sequences × 65 tokens needs 6\.1 KiB, more than this GPU's storage binding limit of 6\.0 KiB \(attention reads whole sequences\): even one sequence is too long: lower seqLen to 64 or fewer$/,
    );
    expect(() => new BlockRunner(ctx, arch, { sequences: 3, seqLen: 22 })).toThrow(
      /of 3 sequences × 22 tokens needs 6\.2 KiB, .* lower the sequences per chunk to 2 or fewer$/,
    );
    const runner = new BlockRunner(ctx, arch, { sequences: 2, seqLen: 16 });
    expect(runner.tokensPerSlice).toBe(7);
    expect(runner.headGroups).toHaveLength(1);
    runner.destroy();
  });
});

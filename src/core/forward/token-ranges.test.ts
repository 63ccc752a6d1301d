/**
 * Hidden states and attention output split by token ranges when one chunk's, or one sequence's, do not fit one
 * storage binding (one Llama-70B sequence of 8192 tokens has 256 MiB of hidden states against the default 128 MiB).
 * Under a 1.5 KiB limit (binding and buffer size) the hidden states of one 22-token sequence (2.1 KiB for the
 * Llama-style block below) exceed it while the q|k|v of one key/value head (1.4 KiB) still fits. The block output
 * and every captured input must be the float64 reference's and bit-identical to the same block under the device's
 * real limits, where everything is one buffer: every token and head goes through the same arithmetic.
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
import { type Captured, expectSplitNll, recordCaptures } from '../../../test/forward-checks';
import { useGpu } from '../../../test/gpu';
import { readFloat32, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { GpuLimitError } from '../gpu/limits';
import { SplitMatrix } from '../gpu/split-matrix';
import type { ModelConfig } from '../model/types';
import { type Architecture, describeArchitecture } from './architecture';
import { BlockRunner } from './block-runner';
import { uploadBlock } from './block-weights';
import { type ChunkShape, maxSequencesPerChunk } from './chunk-fit';
import { ReferenceModel } from './forward.reference';
import { modelNll } from './model-forward';
import { tokensPerRange } from './token-ranges';

const LIMIT = 1536;
/** 6 query heads on 3 key/value heads of 4: 24 floats of hidden state per token, 16 of q|k|v per key/value head. */
const LLAMA_GQA = tinyLlamaConfig({ numHeads: 6, numKvHeads: 3, headDim: 4 });

/** Each group's captures in call order: the token count of each call and all rows joined. */
interface BlockResult {
  out: Float32Array;
  captured: Captured;
  hiddenRanges: number[];
  attentionRanges: number;
}

/** Rows [0, rows) of a split matrix, read back range by range and joined. */
async function readRows(ctx: GpuContext, matrix: SplitMatrix, rows: number): Promise<Float32Array> {
  const joined = new Float32Array(rows * matrix.cols);
  for (const [shard, from, to] of matrix.overlaps(0, rows)) {
    joined.set(await readFloat32(ctx, shard.buffer, (to - from) * matrix.cols), from * matrix.cols);
  }
  return joined;
}

/**
 * Runs block 0 once on `input`: with `split`, the hidden states in and out are SplitMatrix token ranges as
 * SequenceStates allocates them; otherwise one plain buffer each (the fast path).
 */
async function runBlockOnce(
  ctx: GpuContext,
  arch: Architecture,
  checkpoint: RandomCheckpoint,
  input: Float32Array,
  shape: ChunkShape,
  split: boolean,
): Promise<BlockResult> {
  const tokens = shape.sequences * shape.seqLen;
  const H = arch.hiddenSize;
  const weights = await uploadBlock(ctx, arch, 0, checkpointSource(checkpoint));
  const perRange = split ? tokensPerRange(ctx, arch) : tokens;
  const hidden = split
    ? SplitMatrix.allocate(ctx, tokens, H, 'hidden', { maxRowsPerPart: perRange })
    : undefined;
  hidden?.write(0, input);
  const out = SplitMatrix.allocate(ctx, tokens, H, 'out', { maxRowsPerPart: perRange });
  const plainInput = split ? undefined : uploadFloat32(ctx, input, 'hidden');
  const runner = new BlockRunner(ctx, arch, shape);
  const { captured, capture } = recordCaptures(ctx);
  try {
    // The fast path takes plain buffers: the input one, the output the one shard of `out`.
    await runner.run(weights, hidden ?? plainInput!, split ? out : out.parts[0].buffer, {
      ...shape,
      capture,
    });
    return {
      out: await readRows(ctx, out, tokens),
      captured,
      hiddenRanges: out.parts.map((s) => s.rows),
      attentionRanges: runner.attentionRanges,
    };
  } finally {
    runner.destroy();
    weights.destroy();
    hidden?.destroy();
    out.destroy();
    plainInput?.destroy();
  }
}

/** Token positions where a run of calls of these sizes starts a new call. */
function starts(counts: number[]): number[] {
  return counts.map((_, i) => counts.slice(0, i).reduce((a, b) => a + b, 0));
}

const CASES: Array<{ name: string; config: ModelConfig; shape: ChunkShape; ranges: number[] }> = [
  {
    // 22 tokens × 96 bytes: one sequence's hidden states (2.1 KiB) exceed the limit; 16 tokens fit one range.
    name: 'Llama (GQA): one sequence in ranges of 16 and 6 tokens',
    config: LLAMA_GQA,
    shape: { sequences: 1, seqLen: 22 },
    ranges: [16, 6],
  },
  {
    // The first range holds sequences 0 and 1 whole and the first 2 tokens of sequence 2; the second its rest.
    name: 'Llama (GQA): three sequences, the ranges cutting the third',
    config: LLAMA_GQA,
    shape: { sequences: 3, seqLen: 7 },
    ranges: [16, 5],
  },
  {
    name: 'OPT (pre-norm, MHA): one sequence in ranges of 19 and 3 tokens',
    config: tinyOptConfig(),
    shape: { sequences: 1, seqLen: 22 },
    ranges: [19, 3],
  },
  {
    // Post-norm projects the block input itself: the attention group is captured range by range.
    name: 'OPT-350m style (post-norm): one sequence in ranges of 19 and 3 tokens',
    config: tinyOptConfig({ doLayerNormBefore: false }),
    shape: { sequences: 1, seqLen: 22 },
    ranges: [19, 3],
  },
  {
    name: 'GPT-2 (fused c_attn, 4 heads of 4): one sequence in ranges of 24 and 6 tokens',
    config: tinyGpt2Config({ numHeads: 4, numKvHeads: 4, headDim: 4 }),
    shape: { sequences: 1, seqLen: 30 },
    ranges: [24, 6],
  },
];

describe('hidden states and attention output in token ranges past one binding', () => {
  const normal = useGpu();
  const lowered = useGpu({ testLimits: { maxStorageBufferBindingSize: LIMIT, maxBufferSize: LIMIT } });

  it.each(CASES)(
    '$name: output and captured inputs match the reference and the unsplit run',
    async ({ config, shape, ranges }) => {
      const [low, high] = [await lowered(), await normal()];
      const checkpoint = randomCheckpoint(config, { seed: 41 });
      const arch = describeArchitecture(config, checkpoint.names);
      const tokens = shape.sequences * shape.seqLen;
      // The chunk's hidden states exceed one binding (one sequence's, where the chunk is one sequence), and
      // used to be refused; one key/value head's q|k|v of the chunk fits.
      expect(tokens * arch.hiddenSize * 4).toBeGreaterThan(LIMIT);
      const qkvPerKvHead = (arch.heads / arch.kvHeads + 2) * arch.headDim * 4;
      expect(tokens * qkvPerKvHead).toBeLessThanOrEqual(LIMIT);
      expect(maxSequencesPerChunk(low, arch, shape.seqLen)).toBe(1);

      const ids = randomIds(tokens, config.vocabSize, 42);
      const reference = new ReferenceModel(config, checkpoint.tensor, checkpoint.names);
      const input = Float32Array.from(reference.embed(ids, shape));
      const expectedInputs = new Map<string, Float64Array>();
      const expected = reference.block(0, Float64Array.from(input), shape, (role, X) =>
        expectedInputs.set(role, X),
      );

      const split = await runBlockOnce(low, arch, checkpoint, input, shape, true);
      const whole = await runBlockOnce(high, arch, checkpoint, input, shape, false);
      expect(split.hiddenRanges).toEqual(ranges);
      expect(split.attentionRanges).toBe(ranges.length);
      expect(whole.hiddenRanges).toEqual([tokens]);
      expect(whole.attentionRanges).toBe(1);

      expect(relativeMaxError(split.out, expected)).toBeLessThan(1e-5);
      expect(split.out).toEqual(whole.out);
      expect([...split.captured.rows.keys()]).toEqual(['attention', 'attention_output', 'mlp', 'mlp_output']);
      const rangeStarts = starts(ranges);
      for (const [role, rows] of split.captured.rows) {
        const counts = split.captured.counts.get(role)!;
        // Every token once, in order, and no call straddles two ranges.
        expect(counts.reduce((a, b) => a + b, 0)).toBe(tokens);
        expect(starts(counts)).toEqual(expect.arrayContaining(rangeStarts));
        if (role === 'attention_output') expect(counts).toEqual(ranges);
        expect(relativeMaxError(rows, expectedInputs.get(role)!)).toBeLessThan(1e-5);
        expect(rows).toEqual(whole.captured.rows.get(role));
      }
      if (!arch.normFirst) expect(split.captured.counts.get('attention')).toEqual(ranges);
    },
  );

  it.each([
    { name: 'Llama (GQA)', config: LLAMA_GQA, seqLen: 22 },
    // project_in wider than the hidden states (28 > 20): its scratch splits each range of 19 into 13 + 6 tokens.
    { name: 'OPT with project_in/out', config: tinyOptConfig({ wordEmbedProjDim: 28 }), seqLen: 22 },
  ])(
    '$name: a whole forward of two $seqLen-token sequences, each past one binding, gives the reference NLL',
    async ({ config, seqLen }) => {
      const ctx = await lowered();
      const checkpoint = randomCheckpoint(config, { seed: 43 });
      const arch = describeArchitecture(config, checkpoint.names);
      const shape = { sequences: 2, seqLen };
      expect(seqLen * arch.hiddenSize * 4).toBeGreaterThan(LIMIT);
      const ids = randomIds(shape.sequences * seqLen, config.vocabSize, 44);
      const cpu = new ReferenceModel(config, checkpoint.tensor, checkpoint.names).forwardNll(ids, shape);
      const split = await modelNll(ctx, arch, checkpointSource(checkpoint), ids, { seqLen });
      const unsplit = await modelNll(await normal(), arch, checkpointSource(checkpoint), ids, {
        seqLen,
        sequencesPerChunk: 1,
      });
      expectSplitNll(split, unsplit, cpu);
      expect(ctx.memory.current).toBeLessThan(1024);
    },
  );

  it("still refuses, saying what fits, where one key/value head's q|k|v of a sequence exceeds a binding", async () => {
    const ctx = await lowered();
    const arch = describeArchitecture(LLAMA_GQA);
    // 16 floats of q|k|v per key/value head and token: 24 tokens fill 1.5 KiB.
    expect(maxSequencesPerChunk(ctx, arch, 24)).toBe(1);
    expect(maxSequencesPerChunk(ctx, arch, 25)).toBe(0);
    const message =
      /^the q\|k\|v projection \(split to one key\/value head and its 2 query heads per group\) of 1 sequences × 25 tokens needs 1\.6 KiB, more than this GPU's storage binding limit of 1\.5 KiB \(attention reads whole sequences\): even one sequence is too long: lower seqLen to 24 or fewer$/;
    expect(() => new BlockRunner(ctx, arch, { sequences: 1, seqLen: 25 })).toThrow(GpuLimitError);
    expect(() => new BlockRunner(ctx, arch, { sequences: 1, seqLen: 25 })).toThrow(message);
    expect(() => new BlockRunner(ctx, arch, { sequences: 3, seqLen: 11 })).toThrow(
      /of 3 sequences × 11 tokens needs 2\.1 KiB, .* lower the sequences per chunk to 2 or fewer$/,
    );
    // A whole forward says the same before it embeds anything.
    const checkpoint = randomCheckpoint(LLAMA_GQA, { seed: 45 });
    const ids = randomIds(25, LLAMA_GQA.vocabSize, 46);
    await expect(modelNll(ctx, arch, checkpointSource(checkpoint), ids, { seqLen: 25 })).rejects.toThrow(
      message,
    );
    expect(ctx.memory.current).toBeLessThan(1024);
  });
});

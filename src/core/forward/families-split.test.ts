/**
 * The newer families' features under every split of the forward at once: under a 2 KiB binding limit the tiny
 * Gemma 3, Gemma 2 and Qwen3-MoE checkpoints (widened to 64 hidden features and 4 key/value heads of 4, so that the
 * hidden states are the widest per-token buffer) run one sequence per chunk, their hidden states and attention
 * output in token ranges, attention in head groups and the per-token work (post-sublayer norms, the experts) in
 * token slices. The NLL is the reference's and, within 1e-6, the unsplit run's; each expert's captured inputs are
 * the reference's rows of the tokens routed to it (or of every token), the same bits as unsplit.
 */
import { describe, expect, it } from 'vitest';
import { randomIds } from '../../../test/checkpoints';
import { relativeMaxError } from '../../../test/compare';
import { familyCheckpoint } from '../../../test/family-checkpoints';
import { expectSplitNll } from '../../../test/forward-checks';
import { useGpu } from '../../../test/gpu';
import { readFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { SplitMatrix } from '../gpu/split-matrix';
import type { ExpertCalibration } from '../settings/prune-settings';
import { type Architecture, describeArchitecture } from './architecture';
import { BlockRunner } from './block-runner';
import { uploadBlock } from './block-weights';
import { maxSequencesPerChunk } from './chunk-fit';
import { ReferenceModel } from './forward.reference';
import { modelNll } from './model-forward';
import { tokensPerRange } from './token-ranges';

const LIMIT = 2048;
const SHAPE = { sequences: 2, seqLen: 12 };
const TOKENS = SHAPE.sequences * SHAPE.seqLen;
/** 64 hidden features, 8 query heads on 4 key/value heads of 4: hidden states are the widest per-token buffer. */
const WIDE = { hidden_size: 64, num_attention_heads: 8, num_key_value_heads: 4, head_dim: 4 };

const FAMILIES: Array<[string, Record<string, unknown>]> = [
  ['google/gemma-3-270m', { ...WIDE, query_pre_attn_scalar: 4 }],
  ['google/gemma-2-2b', { ...WIDE, query_pre_attn_scalar: 4 }],
  ['Qwen/Qwen3-30B-A3B', WIDE],
];

describe('the newer families split by token ranges, head groups and token slices', () => {
  const normal = useGpu();
  const lowered = useGpu({ testLimits: { maxStorageBufferBindingSize: LIMIT, maxBufferSize: LIMIT } });

  it.each(FAMILIES)(
    '%s: every split at once gives the reference NLL and the unsplit run’s',
    async (name, overrides) => {
      const [low, high] = [await lowered(), await normal()];
      const checkpoint = familyCheckpoint(name, { overrides });
      const arch = describeArchitecture(checkpoint.config, checkpoint.names);
      expect(maxSequencesPerChunk(low, arch, SHAPE.seqLen)).toBe(1);
      const runner = new BlockRunner(low, arch, { sequences: 1, seqLen: SHAPE.seqLen });
      expect(runner.headGroups.length).toBeGreaterThan(1);
      expect(runner.attentionRanges).toBeGreaterThan(1);
      expect(runner.tokensPerSlice).toBeLessThan(SHAPE.seqLen);
      runner.destroy();

      const ids = randomIds(TOKENS, checkpoint.config.vocabSize, 5);
      const source = async (tensor: string) => checkpoint.tensor(tensor);
      const split = await modelNll(low, arch, source, ids, { seqLen: SHAPE.seqLen });
      const unsplit = await modelNll(high, arch, source, ids, { seqLen: SHAPE.seqLen });
      const reference = new ReferenceModel(checkpoint.config, (t) => checkpoint.tensor(t), checkpoint.names);
      expectSplitNll(split, unsplit, reference.forwardNll(ids, SHAPE));
    },
  );

  it.each(['routed', 'all'] as const)(
    'Qwen3-MoE: each expert’s inputs (%s tokens) are the reference’s, the same bits in token slices',
    async (expertCalibration) => {
      const checkpoint = familyCheckpoint('Qwen/Qwen3-30B-A3B', { overrides: WIDE });
      const arch = describeArchitecture(checkpoint.config, checkpoint.names);
      const reference = new ReferenceModel(checkpoint.config, (t) => checkpoint.tensor(t), checkpoint.names, {
        expertCalibration,
      });
      const ids = randomIds(TOKENS, checkpoint.config.vocabSize, 6);
      const input = Float32Array.from(reference.embed(ids, SHAPE));
      const expected = new Map<string, Float64Array>();
      const output = reference.block(0, Float64Array.from(input), SHAPE, (role, X, _tokens, expert) =>
        expected.set(key(role, expert), X),
      );
      const sliced = await captureBlock(await lowered(), arch, checkpoint.tensor, input, expertCalibration);
      const whole = await captureBlock(await normal(), arch, checkpoint.tensor, input, expertCalibration);
      expect(relativeMaxError(sliced.out, output)).toBeLessThan(1e-5);
      expect(sliced.out).toEqual(whole.out);
      expect([...sliced.rows.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [group, rows] of sliced.rows) {
        expect(relativeMaxError(rows, expected.get(group) as Float64Array), group).toBeLessThan(1e-5);
        expect(rows).toEqual(whole.rows.get(group));
      }
      // Split into token slices, an expert's rows come in several calls; unsplit, in one per expert.
      expect(Math.max(...[...sliced.calls.values()])).toBeGreaterThan(1);
      expect(Math.max(...[...whole.calls.values()])).toBe(1);
    },
  );
});

function key(role: string, expert?: number): string {
  return expert === undefined ? role : `${role} expert ${expert}`;
}

/** Block 0 on `input` with a capture that joins each group's rows (per expert) in call order. */
async function captureBlock(
  ctx: GpuContext,
  arch: Architecture,
  tensor: (name: string) => Float32Array,
  input: Float32Array,
  expertCalibration: ExpertCalibration,
) {
  const weights = await uploadBlock(ctx, arch, 0, async (name) => tensor(name));
  const ranges = { maxRowsPerPart: tokensPerRange(ctx, arch) };
  const hidden = SplitMatrix.upload(ctx, input, TOKENS, arch.hiddenSize, 'hidden', ranges);
  const out = hidden.allocateLike('out');
  const runner = new BlockRunner(ctx, arch, SHAPE);
  const rows = new Map<string, Float32Array>();
  const calls = new Map<string, number>();
  try {
    await runner.run(weights, hidden, out, {
      ...SHAPE,
      expertCalibration,
      capture: async (group, X, count) => {
        const name = key(group.role, group.expert);
        const read = await readFloat32(ctx, X, count * group.features);
        const before = rows.get(name) ?? new Float32Array(0);
        const joined = new Float32Array(before.length + read.length);
        joined.set(before);
        joined.set(read, before.length);
        rows.set(name, joined);
        calls.set(name, (calls.get(name) ?? 0) + 1);
      },
    });
    return { out: await out.read(), rows, calls };
  } finally {
    runner.destroy();
    weights.destroy();
    hidden.destroy();
    out.destroy();
  }
}

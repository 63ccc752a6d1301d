/**
 * The new families on today's GPU forward: Phi-3/4 (fused qkv_proj and gate_up_proj, LongRoPE with its short and long
 * factors, partial rotary) and sliding windows at least as wide as the sequence run and agree with the float64
 * reference within the tolerance of the other families; every model whose features the GPU lacks is refused by
 * name before any work.
 */
import { describe, expect, it } from 'vitest';
import { randomIds } from '../../../test/checkpoints';
import { familyCheckpoint } from '../../../test/family-checkpoints';
import { expectNllClose } from '../../../test/forward-checks';
import { useGpu } from '../../../test/gpu';
import { describeArchitecture } from './architecture';
import { UnsupportedModelError } from './architecture-parts';
import { ReferenceModel } from './forward.reference';
import { modelNll } from './model-forward';

const CASES: Array<[string, number]> = [
  // Positions up to original_max_position_embeddings (16): short factors; past it: long factors.
  ['microsoft/Phi-4-mini-instruct', 12],
  ['microsoft/Phi-4-mini-instruct', 20],
  // Windows as wide as the sequence: attention is exact without them.
  ['microsoft/Phi-3-mini-4k-instruct', 7],
  ['mistralai/Mistral-7B-v0.1', 8],
];

describe('the new families on the GPU forward', () => {
  const gpu = useGpu();

  it.each(CASES)('%s at %i tokens: per-token NLL agrees with the float64 reference', async (name, seqLen) => {
    const ctx = await gpu();
    const checkpoint = familyCheckpoint(name);
    const { config } = checkpoint;
    const ids = randomIds(2 * seqLen, config.vocabSize, 3);
    const reference = new ReferenceModel(config, checkpoint.tensor, checkpoint.names);
    const cpu = reference.forwardNll(ids, { sequences: 2, seqLen });
    const arch = describeArchitecture(config, checkpoint.names);
    const nll = await modelNll(ctx, arch, async (tensor) => checkpoint.tensor(tensor), ids, { seqLen });
    expectNllClose(nll, cpu);
  });

  it.each([
    ['Qwen/Qwen3-0.6B', 8, /per-head q\/k RMSNorm/],
    ['google/gemma-2-2b', 8, /attention logit soft-capping \(Gemma 2\); final logit soft-capping/],
    ['google/gemma-3-1b-pt', 4, /RMSNorm by \(1 \+ weight\)/],
    ['mistralai/Mixtral-8x7B-v0.1', 8, /mixture-of-experts MLPs/],
    [
      'mistralai/Mistral-7B-v0.1',
      9,
      /a 8-token window, 9-token sequences; a sequence length of 8 or less is exact/,
    ],
  ] as const)('%s at %i tokens is refused before any work', async (name, seqLen, message) => {
    const ctx = await gpu();
    const checkpoint = familyCheckpoint(name);
    const arch = describeArchitecture(checkpoint.config, checkpoint.names);
    let read = 0;
    const source = async (tensor: string) => {
      read++;
      return checkpoint.tensor(tensor);
    };
    const run = modelNll(ctx, arch, source, randomIds(seqLen, 96, 1), { seqLen });
    await expect(run).rejects.toThrow(UnsupportedModelError);
    await expect(run).rejects.toThrow(message);
    expect(read).toBe(0);
  });
});

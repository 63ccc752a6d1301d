/**
 * The float64 sequential pipeline on the new families: Phi-3's fused linears pruned as stored with one Hessian per
 * input, and Qwen3-MoE's experts each pruned with the Hessian of the tokens routed to it (or of every token), an
 * expert no token reaches left dense with a warning naming it, the router never pruned.
 */
import { describe, expect, it } from 'vitest';
import { randomIds } from '../../../test/checkpoints';
import { familyCheckpoint } from '../../../test/family-checkpoints';
import { describeArchitecture } from '../forward/architecture';
import { referenceSequentialPrune } from './sequential.reference';
import { DEFAULT_SETTINGS, type PruneSettings } from './types';

const SETTINGS: PruneSettings = { ...DEFAULT_SETTINGS, sparsity: 0.5, blockSize: 8 };
const SEQ = 12;

function zeros(values: ArrayLike<number>): number {
  return Array.from(values).filter((v) => v === 0).length / values.length;
}

function prune(name: string, calibrationIds: Int32Array, expertCalibration?: 'routed' | 'all') {
  const checkpoint = familyCheckpoint(name);
  const arch = describeArchitecture(checkpoint.config, checkpoint.names);
  const evaluation = { ids: randomIds(2 * SEQ, checkpoint.config.vocabSize, 5), seqLen: SEQ };
  const run = referenceSequentialPrune(
    arch,
    checkpoint.tensors,
    { ids: calibrationIds, seqLen: SEQ },
    evaluation,
    SETTINGS,
    { expertCalibration },
  );
  return { arch, run };
}

describe('float64 sequential pruning of the new families', () => {
  it('Phi-4-mini: qkv_proj and gate_up_proj pruned as the fused linears they are, 50% each', () => {
    const { arch, run } = prune('microsoft/Phi-4-mini-instruct', randomIds(3 * SEQ, 96, 3));
    expect([...run.weights.keys()].sort()).toEqual(
      arch
        .prunableLinears()
        .map((l) => l.tensor)
        .sort(),
    );
    const qkv = run.weights.get('model.layers.0.self_attn.qkv_proj.weight');
    expect(qkv?.length).toBe((48 + 32) * 48);
    for (const W of run.weights.values()) expect(zeros(W)).toBeCloseTo(0.5, 1);
    expect([...run.tokens.values()]).toEqual(Array.from({ length: 8 }, () => 3 * SEQ));
    expect(run.pruned).toBeGreaterThan(run.dense);
  });

  it('Qwen3-MoE: each expert gets the Hessian of its routed tokens; the router is never pruned', () => {
    const ids = randomIds(3 * SEQ, 96, 3);
    const { arch, run } = prune('Qwen/Qwen3-30B-A3B', ids);
    const moe = arch.config.moe;
    if (!moe) throw new Error('Qwen3-MoE has experts');
    for (let block = 0; block < arch.numBlocks; block++) {
      let routed = 0;
      for (let e = 0; e < moe.experts; e++) routed += run.tokens.get(`block ${block} mlp expert ${e}`) ?? 0;
      expect(routed).toBe(ids.length * moe.topK);
      expect(run.tokens.get(`block ${block} attention`)).toBe(ids.length);
    }
    expect([...run.weights.keys()].some((name) => name.endsWith('mlp.gate.weight'))).toBe(false);
    const pruned = arch.prunableLinears().filter((l) => run.weights.has(l.tensor));
    const silent = arch.prunableLinears().length - pruned.length;
    expect(run.warnings).toHaveLength(silent / 3);
    expect(pruned.length).toBeGreaterThan(arch.numBlocks * 4);
    for (const W of run.weights.values()) expect(zeros(W)).toBeGreaterThanOrEqual(0.5 - 1e-9);

    // Calibrating every expert on all tokens: other Hessians, so other masks.
    const all = prune('Qwen/Qwen3-30B-A3B', ids, 'all').run;
    const name = 'model.layers.1.mlp.experts.3.down_proj.weight';
    expect(all.tokens.get('block 1 mlp expert 3')).toBe(ids.length);
    expect(all.weights.get(name)).not.toEqual(run.weights.get(name));
    expect(all.warnings).toEqual([]);
  });

  it('an expert no calibration token reaches stays dense, with a warning naming it — unless every expert sees all tokens', () => {
    // One token repeated: every position has the same hidden state, so every token goes to the same top-k experts.
    const ids = new Int32Array(3 * SEQ).fill(17);
    const { arch, run } = prune('Qwen/Qwen3-30B-A3B', ids);
    const moe = arch.config.moe;
    if (!moe) throw new Error('Qwen3-MoE has experts');
    expect(run.warnings).toHaveLength(arch.numBlocks * (moe.experts - moe.topK));
    expect(run.warnings[0]).toMatch(
      /^block 0, expert \d+: no calibration token was routed to it, so model\.layers\.0\.mlp\.experts\.\d+\.gate_proj\.weight, model\.layers\.0\.mlp\.experts\.\d+\.up_proj\.weight, model\.layers\.0\.mlp\.experts\.\d+\.down_proj\.weight stay dense$/,
    );
    const expert = Number(/expert (\d+)/.exec(run.warnings[0])?.[1]);
    expect(run.weights.has(`model.layers.0.mlp.experts.${expert}.down_proj.weight`)).toBe(false);
    const all = prune('Qwen/Qwen3-30B-A3B', ids, 'all').run;
    expect(all.warnings).toEqual([]);
    expect(all.weights.has(`model.layers.0.mlp.experts.${expert}.down_proj.weight`)).toBe(true);
  });
});

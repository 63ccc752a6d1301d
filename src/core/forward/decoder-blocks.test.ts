/**
 * The new families described as data: every tensor the architecture names is one the tiny checkpoint (named
 * independently, as transformers saves them) holds, and every tensor it holds is described; fused and per-expert
 * input groups; and which features the GPU forward refuses, by name, until it computes them.
 */
import { describe, expect, it } from 'vitest';
import { familyCheckpoint } from '../../../test/family-checkpoints';
import { REAL_CONFIGS } from '../../../test/family-configs';
import { parseModelConfig } from '../model/config';
import { type Architecture, describeArchitecture } from './architecture';
import { gpuForwardGaps, requireGpuForward } from './gpu-support';

/** Every tensor name the architecture gives: ends, norms, routers, linears and biases. */
function describedTensors(arch: Architecture): Set<string> {
  const names = new Set<string>([arch.embedding.tensor, arch.lmHead.tensor]);
  if (arch.finalNorm) names.add(arch.finalNorm.weight);
  for (let b = 0; b < arch.numBlocks; b++) {
    const block = arch.block(b);
    for (const norm of [
      block.attentionNorm,
      block.mlpNorm,
      block.qNorm,
      block.kNorm,
      block.postAttentionNorm,
      block.postMlpNorm,
    ]) {
      if (norm) names.add(norm.weight);
    }
    if (block.moe) names.add(block.moe.router.tensor);
    for (const linear of block.linears) {
      names.add(linear.tensor);
      if (linear.bias) names.add(linear.bias);
    }
  }
  return names;
}

const FAMILIES = Object.keys(REAL_CONFIGS);

describe('decoder blocks of the new families', () => {
  for (const name of FAMILIES) {
    it(`${name}: the architecture names exactly the tensors of the checkpoint`, () => {
      const checkpoint = familyCheckpoint(name);
      const arch = describeArchitecture(checkpoint.config, checkpoint.names);
      expect([...describedTensors(arch)].sort()).toEqual([...checkpoint.names].sort());
      for (const linear of arch.prunableLinears()) {
        expect(checkpoint.shapes.get(linear.tensor)).toEqual([linear.rows, linear.cols]);
      }
    });
  }

  it('Phi-3: qkv_proj and gate_up_proj are single linears, pruned as stored (q | k | v, gate | up rows)', () => {
    const { config, names } = familyCheckpoint('microsoft/Phi-4-mini-instruct');
    const block = describeArchitecture(config, names).block(1);
    expect(block.groups.map((g) => [g.role, g.linears.map((l) => l.name), g.rows, g.features])).toEqual([
      ['attention', ['self_attn.qkv_proj'], 48 + 2 * 16, 48],
      ['attention_output', ['self_attn.o_proj'], 48, 48],
      ['mlp', ['mlp.gate_up_proj'], 2 * 64, 48],
      ['mlp_output', ['mlp.down_proj'], 48, 64],
    ]);
  });

  it('Mixtral and Qwen3-MoE: one mlp and one mlp_output group per expert, in expert order; the router is never prunable', () => {
    const mixtral = familyCheckpoint('mistralai/Mixtral-8x7B-v0.1');
    const arch = describeArchitecture(mixtral.config, mixtral.names);
    const block = arch.block(0);
    expect(block.moe).toEqual({
      router: { tensor: 'model.layers.0.block_sparse_moe.gate.weight', rows: 8, cols: 32 },
      experts: 8,
      topK: 2,
      normalizeTopK: true,
      intermediateSize: 24,
    });
    expect(block.groups.slice(2, 6).map((g) => [g.role, g.expert, g.linears.map((l) => l.name)])).toEqual([
      ['mlp', 0, ['block_sparse_moe.experts.0.w1', 'block_sparse_moe.experts.0.w3']],
      ['mlp_output', 0, ['block_sparse_moe.experts.0.w2']],
      ['mlp', 1, ['block_sparse_moe.experts.1.w1', 'block_sparse_moe.experts.1.w3']],
      ['mlp_output', 1, ['block_sparse_moe.experts.1.w2']],
    ]);
    const prunable = arch.prunableLinears();
    expect(prunable).toHaveLength(2 * (4 + 8 * 3));
    expect(prunable.some((l) => l.tensor.includes('.gate.weight'))).toBe(false);
    expect(prunable.find((l) => l.name === 'block_sparse_moe.experts.7.w2')).toMatchObject({
      expert: 7,
      group: 'mlp_output',
    });

    const qwen = familyCheckpoint('Qwen/Qwen3-30B-A3B', { overrides: { mlp_only_layers: [1] } });
    const qwenArch = describeArchitecture(qwen.config, qwen.names);
    expect(qwenArch.block(0).groups).toHaveLength(2 + 2 * 16);
    expect(qwenArch.block(0).linears[4]).toMatchObject({
      name: 'mlp.experts.0.gate_proj',
      rows: 12,
      cols: 32,
    });
    // mlp_only_layers: a dense MLP of intermediate_size, no router.
    expect(qwenArch.block(1).moe).toBeUndefined();
    expect(qwenArch.block(1).linears.map((l) => [l.name, l.rows])).toContainEqual(['mlp.gate_proj', 48]);
  });

  it('Gemma: both sublayers normalised before and after; sliding layers carry their window and, in Gemma 3, their RoPE', () => {
    const { config, names } = familyCheckpoint('google/gemma-3-270m');
    const arch = describeArchitecture(config, names);
    expect(arch.norm).toEqual({ kind: 'rmsnorm', eps: 1e-6, unitOffset: true });
    // √32 in bfloat16 (the config's torch_dtype).
    expect(arch.embeddingScale).toBe(5.65625);
    const sliding = arch.block(0);
    expect(sliding).toMatchObject({
      attentionNorm: { weight: 'model.layers.0.input_layernorm.weight' },
      postAttentionNorm: { weight: 'model.layers.0.post_attention_layernorm.weight' },
      mlpNorm: { weight: 'model.layers.0.pre_feedforward_layernorm.weight' },
      postMlpNorm: { weight: 'model.layers.0.post_feedforward_layernorm.weight' },
      qNorm: { weight: 'model.layers.0.self_attn.q_norm.weight' },
      slidingWindow: 5,
      rope: { theta: 10000, rotaryDim: 16 },
    });
    expect(arch.rope).toMatchObject({ theta: 1e6, rotaryDim: 16 });
    const full = arch.block(5);
    expect(full.slidingWindow).toBeUndefined();
    expect(full.rope).toBeUndefined();
  });
});

describe('the GPU forward refuses, by name, what it does not compute', () => {
  it('computes every feature of the families it describes, the real configs included', () => {
    for (const name of Object.keys(REAL_CONFIGS)) {
      const { config, names } = familyCheckpoint(name);
      expect(gpuForwardGaps(describeArchitecture(config, names))).toEqual([]);
      expect(gpuForwardGaps(describeArchitecture(parseModelConfig(REAL_CONFIGS[name])))).toEqual([]);
    }
  });

  it('a field the GPU does not know — a feature added to the description only — is refused by name', () => {
    const { config, names } = familyCheckpoint('google/gemma-3-270m');
    const arch = describeArchitecture(config, names);
    const block = arch.block.bind(arch);
    const changed = {
      ...arch,
      logitScale: 0.5,
      norm: { ...arch.norm, centered: true },
      block: (index: number) => ({ ...block(index), crossAttention: true }),
    };
    expect(gpuForwardGaps(changed)).toEqual(['"logitScale"', '"norm.centered"', '"block.crossAttention"']);
    expect(() => requireGpuForward(changed)).toThrow(
      /^This gemma3_text model uses "logitScale"; "norm\.centered"; "block\.crossAttention", which the GPU forward does not compute yet/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { randomCheckpoint, tinyGpt2Config, tinyLlamaConfig, tinyOptConfig } from '../../../test/checkpoints';
import {
  describeArchitecture,
  fromOutIn,
  listPrunableLinears,
  storedShape,
  toOutIn,
  UnsupportedModelError,
} from './architecture';

describe('architecture descriptions', () => {
  it('Llama/Qwen2: GQA shapes, q/k/v biases, fused input groups, every tensor named as transformers saves it', () => {
    const config = tinyLlamaConfig({ biases: { qkv: true, o: false, mlp: false } });
    const checkpoint = randomCheckpoint(config);
    const arch = describeArchitecture(config, checkpoint.names);
    const block = arch.block(1);
    expect(block.groups.map((g) => [g.role, g.linears.map((l) => l.name), g.rows, g.features])).toEqual([
      ['attention', ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'], 24 + 12 + 12, 24],
      ['attention_output', ['self_attn.o_proj'], 24, 24],
      ['mlp', ['mlp.gate_proj', 'mlp.up_proj'], 80, 24],
      ['mlp_output', ['mlp.down_proj'], 24, 40],
    ]);
    expect(block.linears[1]).toEqual({
      name: 'self_attn.k_proj',
      tensor: 'model.layers.1.self_attn.k_proj.weight',
      bias: 'model.layers.1.self_attn.k_proj.bias',
      rows: 12,
      cols: 24,
      transposed: false,
    });
    expect(block.linears[3].bias).toBeUndefined();
    expect(block.attentionNorm).toEqual({ weight: 'model.layers.1.input_layernorm.weight' });
    expect(arch.lmHead).toMatchObject({ tensor: 'lm_head.weight', tied: false, rows: 53, cols: 24 });
    expect(arch.finalNorm).toEqual({ weight: 'model.norm.weight' });
    expect(arch.rope).toMatchObject({ theta: 10000, rotaryDim: 6 });
    // Every named tensor exists with the described size.
    for (const linear of arch.prunableLinears()) {
      expect(checkpoint.tensor(linear.tensor).length).toBe(linear.rows * linear.cols);
      if (linear.bias) expect(checkpoint.tensor(linear.bias).length).toBe(linear.rows);
    }
    expect(arch.prunableLinears()).toHaveLength(7 * 2);
    expect(arch.prunableLinears()[7]).toMatchObject({ block: 1, name: 'self_attn.q_proj' });
  });

  it('tied embeddings use the embedding tensor as LM head; checkpoints without "model." are found', () => {
    const config = tinyLlamaConfig({ tiedEmbeddings: true });
    const arch = describeArchitecture(config, randomCheckpoint(config, { prefix: '' }).names);
    expect(arch.embedding.tensor).toBe('embed_tokens.weight');
    expect(arch.lmHead).toMatchObject({ tensor: 'embed_tokens.weight', tied: true });
    expect(arch.block(0).linears[0].tensor).toBe('layers.0.self_attn.q_proj.weight');
  });

  it('OPT: learned positions with offset 2, biases, project_in/out, final norm only when present', () => {
    const config = tinyOptConfig({ wordEmbedProjDim: 12, doLayerNormBefore: false });
    const checkpoint = randomCheckpoint(config, { prefix: 'decoder.' });
    const arch = describeArchitecture(config, checkpoint.names);
    expect(arch.positions).toEqual({
      tensor: 'decoder.embed_positions.weight',
      rows: 34,
      cols: 20,
      offset: 2,
    });
    expect(arch.embedding).toEqual({ tensor: 'decoder.embed_tokens.weight', rows: 61, cols: 12 });
    expect(arch.projectIn).toMatchObject({ tensor: 'decoder.project_in.weight', rows: 20, cols: 12 });
    expect(arch.projectOut).toMatchObject({ tensor: 'decoder.project_out.weight', rows: 12, cols: 20 });
    expect(arch.finalNorm).toBeUndefined();
    expect(arch.normFirst).toBe(false);
    expect(arch.lmHead).toMatchObject({ rows: 61, cols: 12, tied: true });
    const block = arch.block(0);
    expect(block.groups.map((g) => g.linears.map((l) => l.name))).toEqual([
      ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj'],
      ['self_attn.out_proj'],
      ['fc1'],
      ['fc2'],
    ]);
    expect(block.mlpNorm).toEqual({
      weight: 'decoder.layers.0.final_layer_norm.weight',
      bias: 'decoder.layers.0.final_layer_norm.bias',
    });
    expect(block.linears.every((l) => l.bias)).toBe(true);
    const preNorm = describeArchitecture(tinyOptConfig());
    expect(preNorm.finalNorm?.weight).toBe('model.decoder.final_layer_norm.weight');
  });

  it('GPT-2: Conv1D weights marked transposed, c_attn pruned as one [3·hidden, hidden] linear', () => {
    const config = tinyGpt2Config();
    const checkpoint = randomCheckpoint(config);
    const arch = describeArchitecture(config, checkpoint.names);
    const [cAttn, cProj, cFc, mlpProj] = arch.block(0).linears;
    expect(cAttn).toMatchObject({
      tensor: 'transformer.h.0.attn.c_attn.weight',
      rows: 48,
      cols: 16,
      transposed: true,
    });
    expect(storedShape(cAttn)).toEqual([16, 48]);
    expect([cProj.rows, cProj.cols, cFc.rows, cFc.cols, mlpProj.rows, mlpProj.cols]).toEqual([
      16, 16, 64, 16, 16, 64,
    ]);
    expect(arch.positions).toMatchObject({ tensor: 'transformer.wpe.weight', rows: 40, offset: 0 });
    expect(arch.finalNorm).toEqual({ weight: 'transformer.ln_f.weight', bias: 'transformer.ln_f.bias' });
    // toOutIn gives W with W[o, i] = stored[i, o]; fromOutIn inverts it.
    const stored = checkpoint.tensor(cFc.tensor);
    const W = toOutIn(cFc, stored);
    expect(W[5 * 16 + 3]).toBe(stored[3 * 64 + 5]);
    expect(Array.from(fromOutIn(cFc, W))).toEqual(Array.from(stored));
    expect(
      describeArchitecture(config, randomCheckpoint(config, { prefix: '' }).names).embedding.tensor,
    ).toBe('wte.weight');
  });

  it('lists every prunable linear with tensor names, shapes as stored and pruned, and input groups', () => {
    const gpt2 = tinyGpt2Config();
    const gpt2Checkpoint = randomCheckpoint(gpt2);
    const gpt2Linears = listPrunableLinears(describeArchitecture(gpt2, gpt2Checkpoint.names));
    expect(gpt2Linears).toHaveLength(4 * gpt2.numLayers);
    expect(gpt2Linears[4]).toEqual({
      block: 1,
      group: 'attention',
      name: 'attn.c_attn',
      tensor: 'transformer.h.1.attn.c_attn.weight',
      bias: 'transformer.h.1.attn.c_attn.bias',
      rows: 48,
      cols: 16,
      storedShape: [16, 48],
      transposed: true,
    });
    const opt = tinyOptConfig({ wordEmbedProjDim: 8 });
    const optCheckpoint = randomCheckpoint(opt);
    const optLinears = listPrunableLinears(describeArchitecture(opt, optCheckpoint.names));
    // project_in/out and the embeddings are never pruned; every listed tensor exists with its stored size.
    expect(optLinears.some((l) => l.name.startsWith('project'))).toBe(false);
    expect(optLinears.slice(0, 6).map((l) => [l.group, l.name])).toEqual([
      ['attention', 'self_attn.q_proj'],
      ['attention', 'self_attn.k_proj'],
      ['attention', 'self_attn.v_proj'],
      ['attention_output', 'self_attn.out_proj'],
      ['mlp', 'fc1'],
      ['mlp_output', 'fc2'],
    ]);
    for (const linear of [...gpt2Linears, ...optLinears]) {
      const checkpoint = linear.tensor.startsWith('transformer.') ? gpt2Checkpoint : optCheckpoint;
      const [r, c] = linear.storedShape;
      expect(checkpoint.tensor(linear.tensor).length).toBe(r * c);
    }
  });

  it('explains configs and checkpoints it cannot describe', () => {
    expect(() => describeArchitecture(tinyLlamaConfig({ numKvHeads: 3 }))).toThrow(
      /num_attention_heads \(4\) must be a multiple of num_key_value_heads \(3\)/,
    );
    expect(() => describeArchitecture(tinyLlamaConfig(), ['lm_head.weight'])).toThrow(UnsupportedModelError);
    expect(() => describeArchitecture(tinyLlamaConfig(), ['lm_head.weight'])).toThrow(
      /no token embedding tensor \(looked for "model.embed_tokens.weight" or "embed_tokens.weight"\)/,
    );
    expect(() => describeArchitecture(tinyLlamaConfig(), ['model.embed_tokens.weight'])).toThrow(
      /tie_word_embeddings: false.*no "lm_head.weight"/,
    );
    expect(() => describeArchitecture(tinyGpt2Config({ hiddenSize: 15 }))).toThrow(/hidden_size 15/);
    expect(() => describeArchitecture(tinyLlamaConfig()).block(2)).toThrow(/block 2 does not exist/);
  });
});

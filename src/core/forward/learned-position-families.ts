/**
 * The families with learned position embeddings and a plain MLP, as data: OPT (pre- or post-norm, optional
 * project_in/out where word_embed_proj_dim differs from hidden_size, the final norm only where the checkpoint has
 * it) and GPT-2 (Conv1D weights stored [in, out], q|k|v fused in c_attn).
 */
import type { ModelConfig } from '../model/types';
import { blockOf, group, linear, norm, UnsupportedModelError } from './architecture-parts';
import { common, type DescribeFamily, finish, lmHead } from './family-model';

function learnedOffset(config: ModelConfig): number {
  if (config.positional.kind !== 'learned') {
    throw new UnsupportedModelError(`${config.modelType}: expected learned position embeddings`);
  }
  return config.positional.offset;
}

export const optArchitecture: DescribeFamily = (config, prefix, names) => {
  const offset = learnedOffset(config);
  const { hiddenSize: H, intermediateSize: F } = config;
  const embedDim = config.wordEmbedProjDim ?? H;
  const projected = embedDim !== H;
  const embedding = { tensor: `${prefix}embed_tokens.weight`, rows: config.vocabSize, cols: embedDim };
  const finalNormPresent = names ? names.has(`${prefix}final_layer_norm.weight`) : config.doLayerNormBefore;
  const b = config.biases;
  return finish(
    {
      ...common(config),
      normFirst: config.doLayerNormBefore,
      mlp: { kind: 'plain', activation: config.activation },
      embedding,
      positions: {
        tensor: `${prefix}embed_positions.weight`,
        rows: config.maxPositions + offset,
        cols: H,
        offset,
      },
      ...(projected
        ? {
            projectIn: linear('project_in', `${prefix}project_in`, H, embedDim, false),
            projectOut: linear('project_out', `${prefix}project_out`, embedDim, H, false),
          }
        : {}),
      ...(finalNormPresent ? { finalNorm: norm(`${prefix}final_layer_norm`, true) } : {}),
      lmHead: lmHead(config, embedding, names),
    },
    (index) => {
      const layer = `${prefix}layers.${index}`;
      const groups = [
        group('attention', [
          linear('self_attn.q_proj', `${layer}.self_attn.q_proj`, H, H, b.qkv),
          linear('self_attn.k_proj', `${layer}.self_attn.k_proj`, H, H, b.qkv),
          linear('self_attn.v_proj', `${layer}.self_attn.v_proj`, H, H, b.qkv),
        ]),
        group('attention_output', [linear('self_attn.out_proj', `${layer}.self_attn.out_proj`, H, H, b.o)]),
        group('mlp', [linear('fc1', `${layer}.fc1`, F, H, b.mlp)]),
        group('mlp_output', [linear('fc2', `${layer}.fc2`, H, F, b.mlp)]),
      ];
      return blockOf(
        index,
        norm(`${layer}.self_attn_layer_norm`, true),
        norm(`${layer}.final_layer_norm`, true),
        groups,
      );
    },
  );
};

export const gpt2Architecture: DescribeFamily = (config, prefix, names) => {
  const offset = learnedOffset(config);
  const { hiddenSize: H, intermediateSize: F } = config;
  const embedding = { tensor: `${prefix}wte.weight`, rows: config.vocabSize, cols: H };
  return finish(
    {
      ...common(config),
      normFirst: true,
      mlp: { kind: 'plain', activation: config.activation },
      embedding,
      positions: { tensor: `${prefix}wpe.weight`, rows: config.maxPositions + offset, cols: H, offset },
      finalNorm: norm(`${prefix}ln_f`, true),
      lmHead: lmHead(config, embedding, names),
    },
    (index) => {
      const layer = `${prefix}h.${index}`;
      // Conv1D stores [in, out]; c_attn's out is q|k|v, pruned as one [3·hidden, hidden] linear.
      const groups = [
        group('attention', [linear('attn.c_attn', `${layer}.attn.c_attn`, 3 * H, H, true, true)]),
        group('attention_output', [linear('attn.c_proj', `${layer}.attn.c_proj`, H, H, true, true)]),
        group('mlp', [linear('mlp.c_fc', `${layer}.mlp.c_fc`, F, H, true, true)]),
        group('mlp_output', [linear('mlp.c_proj', `${layer}.mlp.c_proj`, H, F, true, true)]),
      ];
      return blockOf(index, norm(`${layer}.ln_1`, true), norm(`${layer}.ln_2`, true), groups);
    },
  );
};

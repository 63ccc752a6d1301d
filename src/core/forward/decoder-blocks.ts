/**
 * The Llama-style decoder block as data, with what each family adds to it: Phi-3's fused qkv_proj and gate_up_proj
 * (pruned as the fused linears they are, one Hessian per input, like GPT-2's c_attn), Qwen3's and Gemma 3's per-head
 * q/k norms, Gemma's norms around both sublayers, sliding-window layers and their own RoPE (Gemma 3), and the
 * mixture-of-experts MLPs of Mixtral and Qwen3-MoE: a router that is never pruned and one mlp / mlp_output input
 * group per expert, in expert order, so that experts can be calibrated and pruned one at a time. llamaArchitecture
 * is the whole model of the Llama family around these blocks.
 */
import type { ModelConfig, Positional } from '../model/types';
import type { Architecture, BlockSpec, InputGroup, MoeSpec, NormSpec } from './architecture';
import { blockOf, group, linear, norm, UnsupportedModelError } from './architecture-parts';
import { common, type DescribeFamily, finish, lmHead } from './family-model';
import { type RopeSpec, SUPPORTED_ROPE_TYPES, UnsupportedRopeError } from './rope';

/** The rotary spec of `positional`: rotated dimensions even, the scaling type one rope.ts computes. */
export function ropeSpec(config: ModelConfig, positional: Positional): RopeSpec {
  if (positional.kind !== 'rope') {
    throw new UnsupportedModelError(`${config.modelType}: the Llama family needs rotary positions`);
  }
  const rotaryDim = Math.floor(config.headDim * positional.partialRotaryFactor);
  if (rotaryDim % 2 !== 0 || rotaryDim < 2) {
    throw new UnsupportedModelError(`rotary dimension ${rotaryDim} must be even and at least 2`);
  }
  const ropeType = positional.scaling?.type ?? 'default';
  if (!SUPPORTED_ROPE_TYPES.includes(ropeType)) throw new UnsupportedRopeError(ropeType);
  return {
    theta: positional.theta,
    rotaryDim,
    scaling: positional.scaling,
    maxPositions: config.maxPositions,
  };
}

/** Model-level features beyond Llama's: Gemma's (1 + w) norms, embedding scale, attention scale and soft-capping. */
export function decoderExtras(config: ModelConfig): Partial<Architecture> {
  return {
    ...(config.normUnitOffset
      ? { norm: { kind: config.norm.kind, eps: config.norm.eps, unitOffset: true } }
      : {}),
    ...(config.attentionScale !== undefined ? { attentionScale: config.attentionScale } : {}),
    ...(config.attentionSoftcap !== undefined ? { attentionSoftcap: config.attentionSoftcap } : {}),
    ...(config.finalLogitSoftcap !== undefined ? { finalLogitSoftcap: config.finalLogitSoftcap } : {}),
    ...(config.embeddingScale !== undefined ? { embeddingScale: config.embeddingScale } : {}),
  };
}

/** The Llama family's model (every decoder-blocks.ts variant): rotary positions, a gated MLP, pre-norm. */
export const llamaArchitecture: DescribeFamily = (config, prefix, names) => {
  const H = config.hiddenSize;
  const embedding = { tensor: `${prefix}embed_tokens.weight`, rows: config.vocabSize, cols: H };
  const rope = ropeSpec(config, config.positional);
  return finish(
    {
      ...common(config),
      ...decoderExtras(config),
      normFirst: true,
      mlp: { kind: 'gated', activation: config.activation },
      rope,
      embedding,
      finalNorm: norm(`${prefix}norm`, false),
      lmHead: lmHead(config, embedding, names),
    },
    (index) => decoderBlock(config, `${prefix}layers.${index}`, index, rope),
  );
};

/** Block `index`, whose tensors are named `${layer}.…` (layer = "model.layers.3"); `rope` is the model's RoPE. */
export function decoderBlock(config: ModelConfig, layer: string, index: number, rope: RopeSpec): BlockSpec {
  const groups = [...attentionGroups(config, layer), ...mlpGroups(config, layer, index)];
  const sandwich = config.sandwichNorms === true;
  const sliding = config.layerTypes?.[index] === 'sliding' && config.slidingWindow !== undefined;
  const ownRope =
    sliding && config.slidingPositional ? ropeSpec(config, config.slidingPositional) : undefined;
  const moe = moeSpec(config, layer, index);
  return {
    ...blockOf(
      index,
      norm(`${layer}.input_layernorm`, false),
      norm(`${layer}.${sandwich ? 'pre_feedforward_layernorm' : 'post_attention_layernorm'}`, false),
      groups,
    ),
    ...(config.qkNorm ? qkNorms(layer) : {}),
    ...(sandwich
      ? {
          postAttentionNorm: norm(`${layer}.post_attention_layernorm`, false),
          postMlpNorm: norm(`${layer}.post_feedforward_layernorm`, false),
        }
      : {}),
    ...(sliding ? { slidingWindow: config.slidingWindow } : {}),
    ...(ownRope && JSON.stringify(ownRope) !== JSON.stringify(rope) ? { rope: ownRope } : {}),
    ...(moe ? { moe } : {}),
  };
}

function qkNorms(layer: string): { qNorm: NormSpec; kNorm: NormSpec } {
  return { qNorm: norm(`${layer}.self_attn.q_norm`, false), kNorm: norm(`${layer}.self_attn.k_norm`, false) };
}

/** q, k, v (or Phi-3's qkv_proj, whose rows are q | k | v in that order) and o_proj. */
function attentionGroups(config: ModelConfig, layer: string): InputGroup[] {
  const { hiddenSize: H, numHeads, numKvHeads, headDim, biases: b } = config;
  const q = numHeads * headDim;
  const kv = numKvHeads * headDim;
  const attn = `${layer}.self_attn`;
  const projections = config.fusedProjections
    ? [linear('self_attn.qkv_proj', `${attn}.qkv_proj`, q + 2 * kv, H, b.qkv)]
    : [
        linear('self_attn.q_proj', `${attn}.q_proj`, q, H, b.qkv),
        linear('self_attn.k_proj', `${attn}.k_proj`, kv, H, b.qkv),
        linear('self_attn.v_proj', `${attn}.v_proj`, kv, H, b.qkv),
      ];
  return [
    group('attention', projections),
    group('attention_output', [linear('self_attn.o_proj', `${attn}.o_proj`, H, q, b.o)]),
  ];
}

/** A dense gated MLP (Phi-3: one gate_up_proj, gate rows first), or one gate|up and one down group per expert. */
function mlpGroups(config: ModelConfig, layer: string, index: number): InputGroup[] {
  const { hiddenSize: H, biases: b } = config;
  const moe = config.moe;
  if (!moe || moe.denseLayers.includes(index)) {
    const I = config.intermediateSize;
    const inputs = config.fusedProjections
      ? [linear('mlp.gate_up_proj', `${layer}.mlp.gate_up_proj`, 2 * I, H, b.mlp)]
      : [
          linear('mlp.gate_proj', `${layer}.mlp.gate_proj`, I, H, b.mlp),
          linear('mlp.up_proj', `${layer}.mlp.up_proj`, I, H, b.mlp),
        ];
    return [
      group('mlp', inputs),
      group('mlp_output', [linear('mlp.down_proj', `${layer}.mlp.down_proj`, H, I, b.mlp)]),
    ];
  }
  const I = moe.expertIntermediateSize;
  // Mixtral's experts: w1 = gate, w3 = up, w2 = down.
  const [base, gate, up, down] =
    moe.layout === 'mixtral'
      ? ['block_sparse_moe.experts', 'w1', 'w3', 'w2']
      : ['mlp.experts', 'gate_proj', 'up_proj', 'down_proj'];
  return Array.from({ length: moe.experts }, (_, e) => {
    const name = (part: string) => `${base}.${e}.${part}`;
    const expertLinear = (part: string, rows: number, cols: number) =>
      linear(name(part), `${layer}.${name(part)}`, rows, cols, false);
    return [
      group('mlp', [expertLinear(gate, I, H), expertLinear(up, I, H)], e),
      group('mlp_output', [expertLinear(down, H, I)], e),
    ];
  }).flat();
}

function moeSpec(config: ModelConfig, layer: string, index: number): MoeSpec | undefined {
  const moe = config.moe;
  if (!moe || moe.denseLayers.includes(index)) return undefined;
  const router = moe.layout === 'mixtral' ? 'block_sparse_moe.gate' : 'mlp.gate';
  return {
    router: { tensor: `${layer}.${router}.weight`, rows: moe.experts, cols: config.hiddenSize },
    experts: moe.experts,
    topK: moe.topK,
    normalizeTopK: moe.normalizeTopK,
    intermediateSize: moe.expertIntermediateSize,
  };
}

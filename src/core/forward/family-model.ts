/**
 * The model-level record every family description builds (decoder-blocks.ts, learned-position-families.ts): the
 * fields read straight from the config, the LM head (tied or its own tensor), and the Architecture's block and
 * prunable-linear queries around a family's block function.
 */
import type { ModelConfig } from '../model/types';
import type { Architecture, BlockSpec, MatrixSpec, PrunableLinearSpec } from './architecture';
import { storedShape, UnsupportedModelError } from './architecture-parts';

/** One family's description: its architecture from the config, the checkpoint's name prefix and tensor names. */
export type DescribeFamily = (
  config: ModelConfig,
  prefix: string,
  names: Set<string> | undefined,
) => Architecture;

export function finish(
  base: Omit<Architecture, 'block' | 'prunableLinears'>,
  block: (index: number) => BlockSpec,
): Architecture {
  return {
    ...base,
    block(index: number) {
      if (!Number.isInteger(index) || index < 0 || index >= base.numBlocks) {
        throw new RangeError(`block ${index} does not exist (the model has ${base.numBlocks})`);
      }
      return block(index);
    },
    prunableLinears() {
      const all: PrunableLinearSpec[] = [];
      for (let i = 0; i < base.numBlocks; i++) {
        for (const g of block(i).groups) {
          for (const l of g.linears) {
            const expert = g.expert === undefined ? {} : { expert: g.expert };
            all.push({ ...l, block: i, group: g.role, ...expert, storedShape: storedShape(l) });
          }
        }
      }
      return all;
    },
  };
}

export function common(config: ModelConfig) {
  return {
    config,
    family: config.family,
    hiddenSize: config.hiddenSize,
    intermediateSize: config.intermediateSize,
    heads: config.numHeads,
    kvHeads: config.numKvHeads,
    headDim: config.headDim,
    vocabSize: config.vocabSize,
    numBlocks: config.numLayers,
    norm: { kind: config.norm.kind, eps: config.norm.eps },
    attentionScale: 1 / Math.sqrt(config.headDim),
  };
}

export function lmHead(config: ModelConfig, embedding: MatrixSpec, names: Set<string> | undefined) {
  if (config.tiedEmbeddings) return { ...embedding, tied: true };
  const tensor = 'lm_head.weight';
  if (names && !names.has(tensor)) {
    throw new UnsupportedModelError(
      'config.json says the LM head is not tied to the embeddings (tie_word_embeddings: false), ' +
        'but the checkpoint has no "lm_head.weight"',
    );
  }
  return { tensor, rows: config.vocabSize, cols: embedding.cols, tied: false };
}

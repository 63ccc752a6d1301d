/**
 * What the family descriptions (decoder-blocks.ts, learned-position-families.ts) share: the constructors of the spec
 * records, the model-level fields every family has, and the error for a model this tool cannot describe.
 */
import type { ModelConfig } from '../model/types';
import type {
  Architecture,
  BlockSpec,
  InputGroup,
  InputGroupRole,
  LinearSpec,
  MatrixSpec,
  NormSpec,
  PrunableLinearSpec,
} from './architecture';

/** One family's description: its architecture from the config, the checkpoint's name prefix and tensor names. */
export type DescribeFamily = (
  config: ModelConfig,
  prefix: string,
  names: Set<string> | undefined,
) => Architecture;

export class UnsupportedModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedModelError';
  }
}

/** A linear whose tensors are `${tensorBase}.weight` (and `.bias`), [rows = out, cols = in]. */
export function linear(
  name: string,
  tensorBase: string,
  rows: number,
  cols: number,
  bias: boolean,
  transposed = false,
): LinearSpec {
  return {
    name,
    tensor: `${tensorBase}.weight`,
    ...(bias ? { bias: `${tensorBase}.bias` } : {}),
    rows,
    cols,
    transposed,
  };
}

export function group(role: InputGroupRole, linears: LinearSpec[], expert?: number): InputGroup {
  const rows = linears.reduce((sum, l) => sum + l.rows, 0);
  return { role, features: linears[0].cols, linears, rows, ...(expert === undefined ? {} : { expert }) };
}

export function norm(base: string, withBias: boolean): NormSpec {
  return { weight: `${base}.weight`, ...(withBias ? { bias: `${base}.bias` } : {}) };
}

/** A block's norms and groups, with its prunable linears listed in execution order. */
export function blockOf(
  index: number,
  attentionNorm: NormSpec,
  mlpNorm: NormSpec,
  groups: InputGroup[],
): BlockSpec {
  return { index, attentionNorm, mlpNorm, groups, linears: groups.flatMap((g) => g.linears) };
}

/** The stored shape of a linear's weight tensor, as the checkpoint holds it. */
export function storedShape(spec: LinearSpec): [number, number] {
  return spec.transposed ? [spec.cols, spec.rows] : [spec.rows, spec.cols];
}

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

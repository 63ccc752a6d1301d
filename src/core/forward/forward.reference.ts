/**
 * Float64 CPU forward of LlamaForCausalLM and the decoders built like it (Mistral, Qwen2, Qwen3, Phi-3/4, Gemma 2,
 * Gemma 3 text, Mixtral, Qwen3-MoE), OPTForCausalLM and GPT2LMHeadModel, written from the transformers modelling
 * code (eval mode, no dropout, all-ones attention mask; each block's file under reference/ names the modelling file
 * and version it follows): the reference the GPU kernels and the GPU forward are tested against. It names tensors
 * itself (not through architecture.ts) so that a wrong description there shows up as a disagreement. Block by
 * block, like the GPU forward, with the same capture points (per expert for mixtures of experts), so the pipeline
 * can run a float64 sequential pruning in its tests.
 */
import type { ModelConfig } from '../model/types';
import { referenceGemmaBlock } from './reference/gemma';
import { referenceLlamaBlock } from './reference/llama';
import {
  referenceLayerNorm,
  referenceLinear,
  referenceNllFromLogits,
  referenceRmsNorm,
  referenceSoftcap,
} from './reference/operations';
import { referenceGpt2Block, referenceOptBlock } from './reference/opt-gpt2';
import type {
  BlockContext,
  ExpertCalibration,
  ReferenceCapture,
  ReferenceShape,
  ReferenceTensors,
} from './reference/types';

export * from './reference/operations';
export type {
  ExpertCalibration,
  ReferenceCapture,
  ReferenceShape,
  ReferenceTensors,
} from './reference/types';

export interface ReferenceOptions {
  /** Mixtures of experts: capture each expert's inputs over its routed tokens (default) or over every token. */
  expertCalibration?: ExpertCalibration;
}

/** The tensor name prefix this checkpoint uses, from the names transformers saves under. */
function prefixOf(config: ModelConfig, has: (name: string) => boolean): string {
  const options: Record<string, Array<[string, string]>> = {
    llama: [
      ['model.', 'model.embed_tokens.weight'],
      ['', 'embed_tokens.weight'],
    ],
    opt: [
      ['model.decoder.', 'model.decoder.embed_tokens.weight'],
      ['decoder.', 'decoder.embed_tokens.weight'],
    ],
    gpt2: [
      ['transformer.', 'transformer.wte.weight'],
      ['', 'wte.weight'],
    ],
  };
  const found = options[config.family].find(([, name]) => has(name));
  if (!found) throw new Error(`no ${config.family} embedding tensor in this checkpoint`);
  return found[0];
}

export class ReferenceModel {
  readonly prefix: string;
  private readonly names: Set<string>;

  constructor(
    readonly config: ModelConfig,
    private readonly tensor: ReferenceTensors,
    tensorNames: Iterable<string>,
    private readonly options: ReferenceOptions = {},
  ) {
    this.names = new Set(tensorNames);
    this.prefix = prefixOf(config, (n) => this.names.has(n));
  }

  private t(name: string) {
    return this.tensor(name);
  }

  embed(ids: ArrayLike<number>, shape: ReferenceShape): Float64Array {
    const { config, prefix } = this;
    const tokens = ids.length;
    const offset = shape.positionOffset ?? 0;
    const H = config.hiddenSize;
    const table = this.t(`${prefix}${config.family === 'gpt2' ? 'wte' : 'embed_tokens'}.weight`);
    const embedDim = table.length / config.vocabSize;
    let hidden = new Float64Array(tokens * embedDim);
    for (let t = 0; t < tokens; t++) {
      hidden.set(table.subarray(ids[t] * embedDim, (ids[t] + 1) * embedDim), t * embedDim);
    }
    if (config.family === 'llama') {
      // Gemma: × √hidden, the factor already in the model's dtype (parsed into embeddingScale).
      const scale = config.embeddingScale;
      return scale === undefined ? hidden : hidden.map((value) => value * scale);
    }
    if (config.family === 'opt' && embedDim !== H) {
      hidden = referenceLinear(hidden, tokens, this.t(`${prefix}project_in.weight`), H, embedDim);
    }
    // OPT: positions cumsum(mask)·mask − 1 + 2; GPT-2: arange. With a full mask both are the token index (+ offset).
    const positions = this.t(`${prefix}${config.family === 'gpt2' ? 'wpe' : 'embed_positions'}.weight`);
    const positionOffset = config.family === 'opt' ? 2 : 0;
    for (let t = 0; t < tokens; t++) {
      const p = offset + (t % shape.seqLen) + positionOffset;
      for (let i = 0; i < H; i++) hidden[t * H + i] += positions[p * H + i];
    }
    return hidden;
  }

  block(
    index: number,
    hidden: Float64Array,
    shape: ReferenceShape,
    capture?: ReferenceCapture,
  ): Float64Array {
    const ctx: BlockContext = {
      config: this.config,
      t: (name) => this.t(name),
      shape,
      capture,
      expertCalibration: this.options.expertCalibration ?? 'routed',
    };
    switch (this.config.family) {
      case 'llama':
        return this.config.sandwichNorms
          ? referenceGemmaBlock(ctx, this.prefix, index, hidden)
          : referenceLlamaBlock(ctx, this.prefix, index, hidden);
      case 'opt':
        return referenceOptBlock(ctx, this.prefix, index, hidden);
      case 'gpt2':
        return referenceGpt2Block(ctx, this.prefix, index, hidden);
    }
  }

  /** Final norm, (project_out), LM head, (Gemma 2's final soft-capping): logits [tokens, vocab]. */
  logits(hidden: Float64Array): Float64Array {
    const { config, prefix } = this;
    const H = config.hiddenSize;
    const tokens = hidden.length / H;
    let x = hidden;
    if (config.family === 'llama') {
      const weight = this.t(`${prefix}norm.weight`);
      x = referenceRmsNorm(x, tokens, H, weight, config.norm.eps, config.normUnitOffset === true);
    } else if (config.family === 'gpt2') {
      x = referenceLayerNorm(
        x,
        tokens,
        H,
        this.t(`${prefix}ln_f.weight`),
        this.t(`${prefix}ln_f.bias`),
        config.norm.eps,
      );
    } else if (this.names.has(`${prefix}final_layer_norm.weight`)) {
      const w = this.t(`${prefix}final_layer_norm.weight`);
      x = referenceLayerNorm(x, tokens, H, w, this.t(`${prefix}final_layer_norm.bias`), config.norm.eps);
    }
    let width = H;
    if (config.family === 'opt' && this.names.has(`${prefix}project_out.weight`)) {
      const W = this.t(`${prefix}project_out.weight`);
      width = W.length / H;
      x = referenceLinear(x, tokens, W, width, H);
    }
    const embedding = `${prefix}${config.family === 'gpt2' ? 'wte' : 'embed_tokens'}.weight`;
    const head = config.tiedEmbeddings ? this.t(embedding) : this.t('lm_head.weight');
    const logits = referenceLinear(x, tokens, head, config.vocabSize, width);
    return config.finalLogitSoftcap === undefined
      ? logits
      : referenceSoftcap(logits, config.finalLogitSoftcap);
  }

  nll(hidden: Float64Array, targets: ArrayLike<number>): Float64Array {
    return referenceNllFromLogits(this.logits(hidden), this.config.vocabSize, targets);
  }

  /** Embedding, every block, head: per-token NLL of ids[t + 1] within each sequence (last position NaN). */
  forwardNll(ids: ArrayLike<number>, shape: ReferenceShape): Float64Array {
    let hidden = this.embed(ids, shape);
    for (let i = 0; i < this.config.numLayers; i++) hidden = this.block(i, hidden, shape);
    const targets = Array.from(ids, (_, t) => ((t + 1) % shape.seqLen === 0 ? -1 : ids[t + 1]));
    return this.nll(hidden, targets);
  }
}

/**
 * What llama.cpp's graphs hard-code for the newer families, checked against the model's config before a GGUF is
 * written, so that a file llama.cpp would run differently from the model is refused by name instead of written.
 * Facts from llama.cpp's src/llama-model.cpp (load_hparams) and src/models/gemma2-iswa.cpp / gemma3.cpp:
 * - gemma2: every other layer slides (layer 0 first), attention and final logits always soft-capped (50 and 30
 *   when the file has no key), scores scaled by head_dim^-½ (hidden/heads for its 46-layer 27B).
 * - gemma3: all but every sixth layer slide, sliding layers rotate with base 10000 unscaled, no soft-capping on
 *   the sliding-window graph, the same attention scale rule (62-layer 27B).
 * - llama (Mixtral) and qwen3moe: every layer routed, softmax over all experts, the top-k weights renormalised
 *   (build_moe_ffn's norm_w is hard-coded true for both).
 * - llama (Mistral, Mixtral), qwen2, qwen3 and phi3 attend over the whole context: no sliding window is read for
 *   them (phi3 reads one and switches it off), so a window shorter than the context is warned about, not written.
 * Gemma 2 and 3 multiply embeddings by √hidden in float32, where transformers rounds the factor to the model's dtype: that
 * difference (≤ 0.2% for bfloat16 models) is llama.cpp's, not the file's, and is left as it is.
 */
import type { ModelConfig } from '../model/types';
import { GgufExportError } from './gguf-error';

/** Per layer, whether llama.cpp's set_swa_pattern(period) makes it a sliding layer: all but every period-th. */
export function llamaCppSlidingLayers(layers: number, period: number): boolean[] {
  return Array.from({ length: layers }, (_, i) => i % period < period - 1);
}

/** The attention scale llama.cpp uses for gemma2 / gemma3 (it ignores query_pre_attn_scalar). */
function llamaCppGemmaScale(config: ModelConfig, layersOf27B: number): number {
  const is27B = config.numLayers === layersOf27B;
  return 1 / Math.sqrt(is27B ? Math.floor(config.hiddenSize / config.numHeads) : config.headDim);
}

function refuse(what: string, why: string): never {
  throw new GgufExportError(`llama.cpp cannot run this model as written: ${what} (${why})`);
}

function checkSlidingPattern(config: ModelConfig, arch: string, period: number): void {
  const expected = llamaCppSlidingLayers(config.numLayers, period);
  const actual = expected.map((_, i) => config.layerTypes?.[i] === 'sliding');
  if (config.slidingWindow === undefined || actual.join() !== expected.join()) {
    const layers = actual.map((sliding) => (sliding ? 'S' : 'F')).join('');
    refuse(
      `sliding_window / layer_types give the layers ${layers} (S = sliding, F = full)`,
      `its ${arch} slides all but every ${period === 2 ? 'second' : `${period}th`} layer, starting with layer 0`,
    );
  }
}

function checkAttentionScale(config: ModelConfig, arch: string, layersOf27B: number): void {
  const expected = llamaCppGemmaScale(config, layersOf27B);
  const actual = config.attentionScale ?? 1 / Math.sqrt(config.headDim);
  if (Math.abs(actual - expected) > 1e-7 * expected) {
    refuse(
      `query_pre_attn_scalar ${+(1 / actual ** 2).toPrecision(6)}`,
      `its ${arch} scales scores by ${+(1 / expected ** 2).toPrecision(6)}^-½, from head_dim`,
    );
  }
}

export function checkGemma2(config: ModelConfig): void {
  checkSlidingPattern(config, 'gemma2', 2);
  checkAttentionScale(config, 'gemma2', 46);
  if (config.attentionSoftcap === undefined)
    refuse('attn_logit_softcapping null', 'its gemma2 always soft-caps attention scores');
  if (config.finalLogitSoftcap === undefined)
    refuse('final_logit_softcapping null', 'its gemma2 always soft-caps the logits');
}

export function checkGemma3(config: ModelConfig): void {
  checkSlidingPattern(config, 'gemma3', 6);
  checkAttentionScale(config, 'gemma3', 62);
  if (config.attentionSoftcap !== undefined)
    refuse(`attn_logit_softcapping ${config.attentionSoftcap}`, 'its gemma3 has no attention soft-capping');
  if (config.finalLogitSoftcap !== undefined)
    refuse(`final_logit_softcapping ${config.finalLogitSoftcap}`, 'its gemma3 ignores it on sliding layers');
  const local = config.slidingPositional ?? config.positional;
  const localScaling = local.kind === 'rope' ? (local.scaling?.type ?? 'default') : 'none';
  if (local.kind !== 'rope' || local.theta !== 10000 || localScaling !== 'default') {
    refuse(
      `rope_local_base_freq ${local.kind === 'rope' ? local.theta : '?'} (scaling ${localScaling})`,
      'its gemma3 rotates sliding layers with base 10000, unscaled',
    );
  }
}

export function checkExperts(config: ModelConfig, arch: string): void {
  const moe = config.moe;
  if (!moe) return;
  if (!moe.normalizeTopK)
    refuse('norm_topk_prob false', `its ${arch} always renormalises the top-k routing weights`);
  if (moe.denseLayers.length > 0) {
    refuse(
      `dense MLP layers ${moe.denseLayers.join(', ')} (mlp_only_layers / decoder_sparse_step)`,
      `its ${arch} routes every layer through experts`,
    );
  }
}

/**
 * What llama.cpp will compute differently without refusing the file: a sliding window its architecture ignores.
 * Sequences no longer than the window give identical results, which covers every use up to that length.
 */
export function llamaCppWarnings(config: ModelConfig, arch: string): string[] {
  const window = config.slidingWindow;
  const sliding = config.layerTypes?.includes('sliding') ?? false;
  if (arch === 'gemma2' || arch === 'gemma3' || window === undefined || !sliding) return [];
  if (window >= config.maxPositions) return [];
  return [
    `sliding_window ${window}: llama.cpp's ${arch} has no sliding-window attention, so beyond ${window} tokens ` +
      `(of the model's ${config.maxPositions}) it attends to keys this model does not see; shorter sequences ` +
      'are computed the same',
  ];
}

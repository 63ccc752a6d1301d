/**
 * The sequential pipeline on small random checkpoints of the other families, in their exact Hugging Face layout
 * (OPT pre-norm, OPT-350m-style post-norm with project_in/out, GPT-2 with transposed Conv1D weights and the fused
 * c_attn, Phi-4-mini with its fused qkv_proj / gate_up_proj and LongRoPE, Mistral with a window narrower than the
 * sequence, Gemma 3 with all of its features, Gemma 2's soft-capping, Qwen3-MoE's experts each with the Hessian of
 * its routed tokens or of every token), against the float64 CPU pipeline: the dense perplexity within 1e-4, the
 * pruned within 1%, the same linears pruned, and an expert no token reaches left dense with the reference's
 * warning.
 */
import { describe, expect, it } from 'vitest';
import {
  openRandomCheckpoint,
  randomModel,
  tinyGpt2Config,
  tinyLlamaConfig,
  tinyOptConfig,
} from '../../../test/checkpoints';
import { familyCheckpoint } from '../../../test/family-checkpoints';
import { useGpu } from '../../../test/gpu';
import { evaluationWindows } from '../eval/perplexity-windows';
import { memoryByteSink, memoryByteSource } from '../io/bytes';
import { openCheckpoint } from '../io/checkpoint';
import { createModelFolder } from '../io/folder';
import type { ModelConfig } from '../model/types';
import { drawCalibrationWindows } from './calibration';
import type { OpenedModel } from './open-model';
import { pruneModel } from './prune-model';
import { referenceSequentialPrune } from './sequential.reference';
import { DEFAULT_SETTINGS, type PruneSettings } from './types';

const TEXT = 'The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. '.repeat(
  40,
);
const EVAL_TEXT = 'Sphinx of black quartz, judge my vow! How vexingly quick daft zebras jump. '.repeat(40);

describe('pruneModel on other families', () => {
  const gpu = useGpu();
  const cases: Array<[string, ModelConfig, string | undefined, PruneSettings]> = [
    ['OPT pre-norm', tinyOptConfig(), 'model.decoder.', { ...DEFAULT_SETTINGS, sparsity: 0.5 }],
    [
      'OPT post-norm with project_in/out',
      tinyOptConfig({ doLayerNormBefore: false, wordEmbedProjDim: 12 }),
      'decoder.',
      { ...DEFAULT_SETTINGS, pattern: { n: 2, m: 4 } },
    ],
    ['GPT-2', tinyGpt2Config(), 'transformer.', { ...DEFAULT_SETTINGS, sparsity: 0.6, blockSize: 8 }],
    ['GPT-2 wanda', tinyGpt2Config(), '', { ...DEFAULT_SETTINGS, method: 'wanda', sparsity: 0.5 }],
    [
      'Llama GQA + biases',
      tinyLlamaConfig(),
      'model.',
      { ...DEFAULT_SETTINGS, sparsity: 0.7, blockSize: 16 },
    ],
  ];
  type Case = [string, () => Promise<OpenedModel>, PruneSettings, number];
  const family = (name: string) => () => {
    const checkpoint = familyCheckpoint(name);
    return openRandomCheckpoint(checkpoint.config, checkpoint);
  };
  const opened: Case[] = [
    ...cases.map(
      ([label, config, prefix, base]): Case => [label, () => randomModel(config, prefix), base, 16],
    ),
    // Fused qkv_proj and gate_up_proj, LongRoPE, partial rotary, tied embeddings.
    [
      'Phi-4-mini',
      family('microsoft/Phi-4-mini-instruct'),
      { ...DEFAULT_SETTINGS, sparsity: 0.5, blockSize: 16 },
      16,
    ],
    // Mistral's 8-token window is half of each 16-token sequence.
    ['Mistral', family('mistralai/Mistral-7B-v0.1'), { ...DEFAULT_SETTINGS, pattern: { n: 2, m: 4 } }, 16],
    // (1 + w) norms, √hidden embeddings, q/k norms, norms around both sublayers, 5-token windows with their own
    // RoPE base on 5 of 6 layers, tied embeddings, BF16.
    ['Gemma 3', family('google/gemma-3-270m'), { ...DEFAULT_SETTINGS, sparsity: 0.5, blockSize: 16 }, 12],
    // Attention and final logit soft-capping, an 8-token window on every other layer, F32.
    ['Gemma 2', family('google/gemma-2-2b'), { ...DEFAULT_SETTINGS, method: 'wanda', sparsity: 0.5 }, 12],
    // 16 experts, top 4 renormalised, q/k norms; each expert pruned with its own Hessian.
    ['Qwen3-MoE', family('Qwen/Qwen3-30B-A3B'), { ...DEFAULT_SETTINGS, sparsity: 0.5, blockSize: 8 }, 12],
    [
      'Qwen3-MoE, every expert calibrated on all tokens',
      family('Qwen/Qwen3-30B-A3B'),
      { ...DEFAULT_SETTINGS, sparsity: 0.5, blockSize: 8, expertCalibration: 'all' },
      12,
    ],
  ];
  for (const [label, open, base, seqlen] of opened) {
    it(`${label}: GPU and float64 pipelines agree`, async () => {
      const ctx = await gpu();
      const model = await open();
      const config = model.config;
      const settings: PruneSettings = { ...base, nsamples: 6, seqlen, evalMaxWindows: 4 };
      const { result } = await pruneModel(ctx, model, settings, { calibration: TEXT, evaluation: EVAL_TEXT });
      const calibration = drawCalibrationWindows(model.tokenizer.encode(TEXT), settings, config.maxPositions);
      const windows = evaluationWindows(model.tokenizer.encode(EVAL_TEXT), settings.seqlen, 4);
      const tensors = new Map<string, Float32Array>();
      for (const t of model.checkpoint.tensors)
        tensors.set(t.name, await model.checkpoint.readFloat32(t.name));
      const reference = referenceSequentialPrune(
        model.arch,
        tensors,
        { ids: calibration.ids, seqLen: calibration.seqlen },
        { ids: windows.ids, seqLen: windows.seqlen },
        settings,
        { expertCalibration: settings.expertCalibration },
      );
      expect(Math.abs((result.dense?.perplexity ?? Number.NaN) / reference.dense - 1)).toBeLessThan(1e-4);
      const pruned = result.pruned?.perplexity ?? Number.NaN;
      expect(Math.abs(pruned / reference.pruned - 1)).toBeLessThan(0.01);
      const prunedLayers = result.layers.filter((l) => !l.skipped);
      expect(prunedLayers.map((l) => l.tensor).sort()).toEqual([...reference.weights.keys()].sort());
      for (const layer of result.layers.filter((l) => l.skipped)) {
        expect(layer.skipped).toBe('no calibration token was routed to this expert');
      }
      expect(result.notes.filter((n) => /no calibration token/.test(n))).toEqual(reference.warnings);
      expect(result.layers).toHaveLength(model.arch.prunableLinears().length);
    }, 120_000);
  }

  it('Qwen3-MoE: an expert no calibration token reaches stays dense, byte for byte, with the reference’s warning', async () => {
    const ctx = await gpu();
    const model = await family('Qwen/Qwen3-30B-A3B')();
    const moe = model.config.moe;
    if (!moe) throw new Error('Qwen3-MoE has experts');
    // One character repeated: every position has the same hidden state, so every token picks the same top-k experts.
    const calibration = 'a'.repeat(400);
    const settings: PruneSettings = {
      ...DEFAULT_SETTINGS,
      sparsity: 0.5,
      blockSize: 8,
      nsamples: 2,
      seqlen: 12,
    };
    const written = new Map<string, ReturnType<typeof memoryByteSink>>();
    const sinkFor = async (path: string) => {
      const sink = memoryByteSink();
      written.set(path, sink);
      return sink;
    };
    const { result } = await pruneModel(ctx, model, settings, { calibration }, { output: { sinkFor } });
    const ids = drawCalibrationWindows(
      model.tokenizer.encode(calibration),
      settings,
      model.config.maxPositions,
    );
    const tensors = new Map<string, Float32Array>();
    for (const t of model.checkpoint.tensors) tensors.set(t.name, await model.checkpoint.readFloat32(t.name));
    const reference = referenceSequentialPrune(
      model.arch,
      tensors,
      { ids: ids.ids, seqLen: ids.seqlen },
      { ids: ids.ids.subarray(0, ids.seqlen), seqLen: ids.seqlen },
      settings,
    );
    expect(reference.warnings).toHaveLength(model.arch.numBlocks * (moe.experts - moe.topK));
    expect(result.notes.filter((n) => /no calibration token/.test(n))).toEqual(reference.warnings);
    const output = await openCheckpoint(
      createModelFolder(
        'out',
        [...written].map(([path, sink]) => [path, memoryByteSource(sink.bytes(), path)] as const),
      ),
    );
    const dense = result.layers.filter((l) => l.skipped);
    expect(dense).toHaveLength(3 * reference.warnings.length);
    for (const layer of dense) {
      expect(await output.readFloat32(layer.tensor)).toEqual(tensors.get(layer.tensor));
      expect(reference.weights.has(layer.tensor)).toBe(false);
    }
    for (const layer of result.layers.filter((l) => !l.skipped)) {
      expect(layer.sparsity).toBeGreaterThanOrEqual(0.5 - 1e-9);
    }
  }, 120_000);
});

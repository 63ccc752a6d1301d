/**
 * The sequential pipeline on small random checkpoints of the other families, in their exact Hugging Face layout
 * (OPT pre-norm, OPT-350m-style post-norm with project_in/out, GPT-2 with transposed Conv1D weights and the fused
 * c_attn, Phi-4-mini with its fused qkv_proj / gate_up_proj and LongRoPE, Mistral with its window), against the
 * float64 CPU pipeline: the pruned perplexity within 1% and the same pruned weights. Families whose features the
 * GPU forward lacks are refused by name before any work.
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
    // Mistral's 8-token window is the whole of each sequence at seqlen 8.
    ['Mistral', family('mistralai/Mistral-7B-v0.1'), { ...DEFAULT_SETTINGS, pattern: { n: 2, m: 4 } }, 8],
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
      );
      expect(Math.abs((result.dense?.perplexity ?? Number.NaN) / reference.dense - 1)).toBeLessThan(1e-4);
      const pruned = result.pruned?.perplexity ?? Number.NaN;
      expect(Math.abs(pruned / reference.pruned - 1)).toBeLessThan(0.01);
      expect(result.layers.map((l) => l.tensor).sort()).toEqual([...reference.weights.keys()].sort());
      for (const layer of result.layers) expect(layer.skipped).toBeUndefined();
    }, 60_000);
  }

  it.each([
    ['google/gemma-3-270m', 8, /RMSNorm by \(1 \+ weight\)/],
    ['Qwen/Qwen3-30B-A3B', 8, /mixture-of-experts MLPs/],
    ['mistralai/Mistral-7B-v0.1', 16, /a 8-token window, 16-token sequences/],
  ] as const)('%s at seqlen %i: refused by name before any work', async (name, seqlen, message) => {
    const ctx = await gpu();
    const checkpoint = familyCheckpoint(name);
    const model = await openRandomCheckpoint(checkpoint.config, checkpoint);
    const events: string[] = [];
    const run = pruneModel(
      ctx,
      model,
      { ...DEFAULT_SETTINGS, nsamples: 2, seqlen },
      { calibration: TEXT },
      { onEvent: (event) => events.push(event.type) },
    );
    await expect(run).rejects.toThrow(message);
    expect(events).toEqual([]);
  });
});

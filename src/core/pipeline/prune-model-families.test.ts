/**
 * The sequential pipeline on small random checkpoints of the other families, in their exact Hugging Face layout
 * (OPT pre-norm, OPT-350m-style post-norm with project_in/out, GPT-2 with transposed Conv1D weights and the fused
 * c_attn), against the float64 CPU pipeline: the pruned perplexity within 1% and the same pruned weights.
 */
import { describe, expect, it } from 'vitest';
import { randomModel, tinyGpt2Config, tinyLlamaConfig, tinyOptConfig } from '../../../test/checkpoints';
import { useGpu } from '../../../test/gpu';
import { evaluationWindows } from '../eval/perplexity-windows';
import type { ModelConfig } from '../model/types';
import { drawCalibrationWindows } from './calibration';
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
  for (const [label, config, prefix, base] of cases) {
    it(`${label}: GPU and float64 pipelines agree`, async () => {
      const ctx = await gpu();
      const model = await randomModel(config, prefix);
      const settings: PruneSettings = { ...base, nsamples: 6, seqlen: 16, evalMaxWindows: 4 };
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
});

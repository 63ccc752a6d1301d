/**
 * The whole pipeline where one calibration or evaluation sequence's hidden states exceed one storage binding: under
 * a 16 KiB limit (binding and buffer size; the solver's floor is one 64×64 Cholesky block, 16 KiB) a random
 * Llama-style model's 192-token sequences hold 18 KiB of hidden states each, so every chunk's hidden states and
 * attention output are split into token ranges of 170 and 22 tokens, while one key/value head's q|k|v of a
 * sequence (12 KiB) still fits. The run must
 * prune the same model and report the same perplexities as under the device's real limits, and agree with the
 * float64 sequential pipeline. (Bit-identity is not expected of the pruned weights here: token ranges and slices
 * capture the calibration inputs in other batches, and the running Hessian average rounds with its batches.)
 */
import { describe, expect, it } from 'vitest';
import { randomModel, tinyLlamaConfig } from '../../../test/checkpoints';
import { useGpu } from '../../../test/gpu';
import { evaluationWindows } from '../eval/perplexity-windows';
import { maxSequencesPerChunk } from '../forward/chunk-fit';
import { tokensPerRange } from '../forward/token-ranges';
import { drawCalibrationWindows } from './calibration';
import { pruneModel } from './prune-model';
import { referenceSequentialPrune } from './sequential.reference';
import { DEFAULT_SETTINGS, type PruneSettings } from './types';

const LIMIT = 16 * 1024;
/** 6 query heads on 3 key/value heads of 4: 96 bytes of hidden state per token, 64 of q|k|v per key/value head. */
const CONFIG = tinyLlamaConfig({ numHeads: 6, numKvHeads: 3, headDim: 4, maxPositions: 256 });
const SETTINGS: PruneSettings = {
  ...DEFAULT_SETTINGS,
  nsamples: 2,
  seqlen: 192,
  evalMaxWindows: 2,
  blockSize: 16,
};
const TEXT = 'The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. '.repeat(
  40,
);
const EVAL_TEXT = 'Sphinx of black quartz, judge my vow! How vexingly quick daft zebras jump. '.repeat(40);
const relative = (a: number, b: number) => Math.abs(a / b - 1);

describe('pruneModel with sequences whose hidden states exceed one binding', () => {
  const normal = useGpu();
  const lowered = useGpu({ testLimits: { maxStorageBufferBindingSize: LIMIT, maxBufferSize: LIMIT } });

  it('prunes as under normal limits and as the float64 pipeline does', async () => {
    const ctx = await lowered();
    const model = await randomModel(CONFIG);
    const { arch } = model;
    expect(SETTINGS.seqlen * arch.hiddenSize * 4).toBeGreaterThan(LIMIT);
    expect(tokensPerRange(ctx, arch)).toBe(170);
    // Refused (0) before token ranges; one sequence per chunk now.
    expect(maxSequencesPerChunk(ctx, arch, SETTINGS.seqlen)).toBe(1);

    const texts = { calibration: TEXT, evaluation: EVAL_TEXT };
    const split = (await pruneModel(ctx, model, SETTINGS, texts)).result;
    const whole = (await pruneModel(await normal(), model, SETTINGS, texts, { sequencesPerChunk: 1 })).result;
    expect(ctx.memory.current).toBeLessThan(1024);

    expect(split.layers.map((l) => l.tensor)).toEqual(whole.layers.map((l) => l.tensor));
    whole.layers.forEach((layer, i) => {
      expect(split.layers[i].skipped).toBeUndefined();
      expect(split.layers[i].sparsity).toBe(layer.sparsity);
      expect(relative(split.layers[i].relativeError, layer.relativeError)).toBeLessThan(1e-4);
    });
    // The dense pass goes through bit-identical blocks; only the LM head's vocabulary slices differ.
    expect(relative(split.dense!.perplexity, whole.dense!.perplexity)).toBeLessThan(1e-6);
    expect(relative(split.pruned!.perplexity, whole.pruned!.perplexity)).toBeLessThan(1e-5);

    const calibration = drawCalibrationWindows(model.tokenizer.encode(TEXT), SETTINGS, CONFIG.maxPositions);
    const windows = evaluationWindows(
      model.tokenizer.encode(EVAL_TEXT),
      SETTINGS.seqlen,
      SETTINGS.evalMaxWindows,
    );
    const tensors = new Map<string, Float32Array>();
    for (const t of model.checkpoint.tensors) tensors.set(t.name, await model.checkpoint.readFloat32(t.name));
    const reference = referenceSequentialPrune(
      arch,
      tensors,
      { ids: calibration.ids, seqLen: calibration.seqlen },
      { ids: windows.ids, seqLen: windows.seqlen },
      SETTINGS,
    );
    expect(relative(split.dense!.perplexity, reference.dense)).toBeLessThan(1e-4);
    expect(relative(split.pruned!.perplexity, reference.pruned)).toBeLessThan(0.01);
  }, 120_000);
});

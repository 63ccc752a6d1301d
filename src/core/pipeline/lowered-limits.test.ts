/**
 * The whole pipeline under a storage binding limit (and buffer size) of 48 KiB, so small that stories260K's
 * embedding table, its fused gate|up weights, the hidden states of more than one 32-token sequence, the down_proj
 * Hessian and the LM head's logits must all be split: the run must give what the same run gives under the device's
 * real limits, bit for bit. The solver's floor is 64 rows of the widest Hessian (its tiles never straddle two
 * buffers): below that the layer is refused with a message that says so. Where a setting is what does not fit (the
 * lazy-batch block size), the message names the setting and the value that fits; sequences longer than one chunk
 * holds run in token slices.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useGpu } from '../../../test/gpu';
import { openFolder } from '../../node/files';
import { maxSequencesPerChunk } from '../forward/chunk-fit';
import type { GpuContext } from '../gpu/context';
import { rowsPerPart } from '../gpu/limits';
import { TILED } from '../gpu/split-matrix';
import { memoryByteSink, memoryByteSource } from '../io/bytes';
import { openCheckpoint } from '../io/checkpoint';
import { createModelFolder } from '../io/folder';
import { type OpenedModel, openModel } from './open-model';
import { type PruneModelOptions, pruneModel } from './prune-model';
import { DEFAULT_SETTINGS, type PruneSettings } from './types';

const demo = new URL('../../../public/demo/stories260K/', import.meta.url);
const texts = {
  calibration: readFileSync(new URL('calibration.txt', demo), 'utf8'),
  evaluation: readFileSync(new URL('evaluation.txt', demo), 'utf8'),
};
const LIMIT = 48 * 1024;
/** 64 rows of the 172-wide down_proj Hessian: the solver's tiles never straddle two buffers, so no less will do. */
const NARROWEST = 64 * 172 * 4;
// blockSize 64: 128 rows of U for a 172-wide layer (88 KiB) do not fit, and the test below shows that is said.
const SETTINGS: PruneSettings = {
  ...DEFAULT_SETTINGS,
  nsamples: 4,
  seqlen: 32,
  blockSize: 64,
  evalMaxWindows: 2,
};

async function pruneToMemory(ctx: GpuContext, model: OpenedModel, options: PruneModelOptions = {}) {
  const sinks = new Map<string, ReturnType<typeof memoryByteSink>>();
  const sinkFor = async (path: string) => {
    const sink = memoryByteSink();
    sinks.set(path, sink);
    return sink;
  };
  const { result } = await pruneModel(ctx, model, SETTINGS, texts, { ...options, output: { sinkFor } });
  const folder = createModelFolder(
    'out',
    [...sinks].map(([path, sink]) => [path, memoryByteSource(sink.bytes(), path)] as const),
  );
  return { result, written: await openCheckpoint(folder) };
}

const relative = (a: number, b: number) => Math.abs(a / b - 1);

describe('pruneModel under lowered GPU limits', () => {
  const normal = useGpu();
  const lowered = useGpu({ testLimits: { maxStorageBufferBindingSize: LIMIT, maxBufferSize: LIMIT } });
  const tooLow = useGpu({
    testLimits: { maxStorageBufferBindingSize: NARROWEST - 1, maxBufferSize: NARROWEST - 1 },
  });
  let model: OpenedModel;

  beforeAll(async () => {
    model = (await openModel(await openFolder(new URL('.', demo).pathname))).model;
  });

  it('at 48 KiB the embedding, fused weights, hidden states, Hessians and logits need splitting', async () => {
    const ctx = await lowered();
    const { arch } = model;
    expect(arch.hiddenSize * arch.vocabSize * 4).toBeGreaterThan(LIMIT);
    expect(rowsPerPart(ctx, arch.vocabSize, arch.hiddenSize, 'embedding')).toBeLessThan(arch.vocabSize);
    expect(rowsPerPart(ctx, 2 * arch.intermediateSize, arch.hiddenSize, 'gate|up')).toBeLessThan(
      2 * arch.intermediateSize,
    );
    expect(maxSequencesPerChunk(await normal(), arch, SETTINGS.seqlen)).toBeGreaterThanOrEqual(8);
    expect(maxSequencesPerChunk(ctx, arch, SETTINGS.seqlen)).toBe(1);
    const wide = arch.intermediateSize;
    expect(rowsPerPart(ctx, wide, wide, 'H', TILED)).toBe(64);
    expect(SETTINGS.seqlen * arch.vocabSize * 4).toBeGreaterThan(LIMIT);
  });

  it('gives the same pruned model, errors and perplexities as under normal limits', async () => {
    // Under normal limits the calibration samples would go 8 to a Hessian update; one at a time, as the lowered
    // limit forces, rounds differently (~1e-6), and that is not what this test is about.
    const reference = await pruneToMemory(await normal(), model, { sequencesPerChunk: 1 });
    const split = await pruneToMemory(await lowered(), model);
    const [a, b] = [reference.result, split.result];
    expect(b.layers.map((l) => l.tensor)).toEqual(a.layers.map((l) => l.tensor));
    a.layers.forEach((layer, i) => {
      expect(b.layers[i].sparsity).toBe(layer.sparsity);
      expect(b.layers[i].damping).toBe(layer.damping);
      expect(relative(b.layers[i].relativeError, layer.relativeError)).toBeLessThan(1e-6);
    });
    expect(relative(b.dense?.perplexity ?? 0, a.dense?.perplexity ?? 1)).toBeLessThan(1e-6);
    expect(relative(b.pruned?.perplexity ?? 0, a.pruned?.perplexity ?? 1)).toBeLessThan(1e-6);
    // The pruned weights themselves: the same mask and the same values, bit for bit.
    for (const layer of a.layers) {
      expect(await split.written.readFloat32(layer.tensor)).toEqual(
        await reference.written.readFloat32(layer.tensor),
      );
    }
  });

  it('names the setting to lower where a setting is what does not fit', async () => {
    const ctx = await lowered();
    await expect(pruneModel(ctx, model, { ...SETTINGS, blockSize: 128 }, texts)).rejects.toThrow(
      /^invalid blockSize: 128 \(128 rows of U exceed this GPU's binding limit; use at most 64\)$/,
    );
    // One 64-token sequence's gate|up projection (86 KiB) exceeds the limit: the block runs its MLP in token slices.
    const long = await pruneModel(ctx, model, { ...SETTINGS, seqlen: 64 }, texts);
    expect(long.result.overallSparsity).toBeCloseTo(0.5, 2);
    expect(ctx.memory.current).toBeLessThan(1024);
  });

  it('below 64 rows of the widest Hessian, the 172-wide layer is refused as too wide for the GPU', async () => {
    const ctx = await tooLow();
    // No evaluation text: the run fails at block 0's down_proj, and the LM head's kernels need no compiling.
    await expect(pruneModel(ctx, model, SETTINGS, { calibration: texts.calibration })).rejects.toThrow(
      /^hessian: 64 rows of 172 floats \(44032 bytes\) exceed this GPU's storage binding limit of 44031 bytes$/,
    );
    expect(ctx.memory.current).toBeLessThan(1024);
  });
});

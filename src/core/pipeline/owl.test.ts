/**
 * Sparsity per layer on the GPU: the input norms kernel against float64 (also split into windows under a tiny
 * binding limit), OWL's dense pass on stories260K against a float64 forward of the same calibration samples, and
 * per-layer targets and the OWL allocation reaching the solver (each linear's achieved sparsity) and the written
 * model's metadata.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useGpu } from '../../../test/gpu';
import { gaussian } from '../../../test/random';
import { openFolder } from '../../node/files';
import { ReferenceModel } from '../forward/forward.reference';
import { uploadFloat32 } from '../gpu/buffers';
import { memoryByteSink, memoryByteSource } from '../io/bytes';
import { createModelFolder } from '../io/folder';
import { InputNormAccumulator } from '../sparsegpt/input-norms';
import { measureCalibration, type OpenedModel, openModel } from './open-model';
import { measureOwlAllocation } from './owl';
import { outlierRatio, owlBlockSparsity } from './owl-allocation';
import { pruneModel } from './prune-model';
import { DEFAULT_SETTINGS, type PruneSettings } from './types';

const demo = new URL('../../../public/demo/stories260K/', import.meta.url);
const calibrationText = readFileSync(new URL('calibration.txt', demo), 'utf8');
const SMALL: PruneSettings = { ...DEFAULT_SETTINGS, nsamples: 8, seqlen: 64 };

async function opened(): Promise<OpenedModel> {
  return (await openModel(await openFolder(new URL('.', demo).pathname))).model;
}

function normsReference(X: Float32Array, tokens: number, columns: number): Float64Array {
  const sums = new Float64Array(columns);
  for (let t = 0; t < tokens; t++) for (let j = 0; j < columns; j++) sums[j] += X[t * columns + j] ** 2;
  return sums.map(Math.sqrt);
}

describe('input norms ‖X_j‖ for OWL', () => {
  const gpu = useGpu();
  const small = useGpu({ testLimits: { maxStorageBufferBindingSize: 4096, maxBufferSize: 1 << 20 } });

  for (const [label, context] of [
    ['whole', gpu],
    ['in windows of a 4 KiB binding', small],
  ] as const) {
    it(`match float64 over two batches, one from an offset (${label})`, async () => {
      const ctx = await context();
      const columns = 37;
      const X = gaussian(300 * columns, 11);
      const accumulator = new InputNormAccumulator(ctx, columns);
      // 120 tokens from the start of one buffer, then 180 from float 5·37 + 3 into another.
      const first = uploadFloat32(ctx, X.subarray(0, 120 * columns), 'X1');
      const padded = new Float32Array(5 * columns + 3 + 180 * columns);
      padded.set(X.subarray(120 * columns), 5 * columns + 3);
      const second = uploadFloat32(ctx, padded, 'X2');
      accumulator.add(first, 120);
      accumulator.add(second, 180, 5 * columns + 3);
      const norms = await accumulator.norms();
      const expected = normsReference(X, 300, columns);
      for (let j = 0; j < columns; j++)
        expect(Math.abs(norms[j] - expected[j]) / expected[j]).toBeLessThan(1e-5);
      expect(accumulator.tokens).toBe(300);
      accumulator.destroy();
      first.destroy();
      second.destroy();
    });
  }

  it("OWL's dense pass on stories260K gives the float64 forward's outlier ratios and allocation", async () => {
    const ctx = await gpu();
    const model = await opened();
    const calibration = measureCalibration(model, calibrationText, SMALL);
    const settings = { sparsity: 0.6, owlThreshold: 5, owlLambda: 0.08 };
    const measured = await measureOwlAllocation(ctx, model, calibration, settings);

    const names = model.checkpoint.tensors.map((t) => t.name);
    const tensors = new Map<string, Float32Array>();
    for (const name of names) tensors.set(name, await model.checkpoint.readFloat32(name));
    const reference = new ReferenceModel(model.arch.config, (n) => tensors.get(n) as Float32Array, names);
    const shape = { sequences: calibration.nsamples, seqLen: calibration.seqlen };
    let hidden = reference.embed(calibration.ids, shape);
    const ratios: number[] = [];
    for (let block = 0; block < model.arch.numBlocks; block++) {
      const norms = new Map<string, Float64Array>();
      hidden = reference.block(block, hidden, shape, (role, X, tokens) => {
        const columns = X.length / tokens;
        const sums = new Float64Array(columns);
        for (let t = 0; t < tokens; t++) for (let j = 0; j < columns; j++) sums[j] += X[t * columns + j] ** 2;
        norms.set(role, sums.map(Math.sqrt));
      });
      const linears = model.arch.block(block).groups.flatMap((group) =>
        group.linears.map((linear) => ({
          W: tensors.get(linear.tensor) as Float32Array,
          rows: linear.rows,
          cols: linear.cols,
          norms: norms.get(group.role) as Float64Array,
        })),
      );
      ratios.push(outlierRatio(linears, 5));
    }
    // A score within float32 rounding of the threshold may fall either side: a few of a block's 40,000 weights.
    for (const [block, ratio] of ratios.entries()) {
      expect(Math.abs(measured.outlierRatios[block] - ratio), `block ${block}`).toBeLessThan(2e-4);
    }
    const expected = owlBlockSparsity(ratios, 0.6, 0.08);
    for (const [block, sparsity] of expected.entries()) {
      expect(Math.abs(measured.blockSparsity[block] - sparsity), `block ${block}`).toBeLessThan(2e-3);
    }
    // The demo's blocks differ: the allocation is not uniform, and it averages to the target within ±λ.
    expect(Math.max(...measured.blockSparsity) - Math.min(...measured.blockSparsity)).toBeGreaterThan(0.05);
  });
});

describe('per-layer targets reach the solver', () => {
  const gpu = useGpu();

  it('prunes each linear to its own target and records every target in the written metadata', async () => {
    const ctx = await gpu();
    const model = await opened();
    const sinks = new Map<string, ReturnType<typeof memoryByteSink>>();
    const settings: PruneSettings = {
      ...SMALL,
      sparsity: 0.5,
      layerTargets: [
        { layers: 'layers.3.', sparsity: 0.7 },
        { layers: 'model.layers.1.mlp.down_proj.weight', sparsity: 0.3 },
        // The last entry that matches wins: block 3's v_proj is 20%, its other linears 70%.
        { layers: 'layers.3.self_attn.v_proj', sparsity: 0.2 },
      ],
    };
    const { result } = await pruneModel(
      ctx,
      model,
      settings,
      { calibration: calibrationText },
      {
        output: {
          sinkFor: async (path) => {
            const sink = memoryByteSink();
            sinks.set(path, sink);
            return sink;
          },
        },
      },
    );
    const expected = (tensor: string) =>
      tensor === 'model.layers.1.mlp.down_proj.weight'
        ? 0.3
        : tensor === 'model.layers.3.self_attn.v_proj.weight'
          ? 0.2
          : tensor.startsWith('model.layers.3.')
            ? 0.7
            : 0.5;
    for (const layer of result.layers) {
      expect(layer.target, layer.tensor).toBeCloseTo(expected(layer.tensor), 12);
      // Unstructured SparseGPT zeroes exactly ⌊rows·cols·s⌋ weights per 128-column block: within one column.
      expect(Math.abs(layer.sparsity - expected(layer.tensor)), layer.tensor).toBeLessThan(1 / layer.cols);
    }
    const folder = createModelFolder(
      'out',
      [...sinks].map(([path, sink]) => [path, memoryByteSource(sink.bytes(), path)] as const),
    );
    const written = (await openModel(folder)).model.checkpoint;
    const targets = JSON.parse(written.metadata['sparsegpt.layer_sparsity']);
    expect(Object.keys(targets)).toHaveLength(35);
    for (const [tensor, target] of Object.entries(targets)) expect(target).toBe(expected(tensor));
    expect(written.metadata['sparsegpt.allocation']).toBe('uniform');
  });

  it('an OWL run prunes each block to the sparsity of its allocation', async () => {
    const ctx = await gpu();
    const model = await opened();
    const events: string[] = [];
    const { result } = await pruneModel(
      ctx,
      model,
      { ...SMALL, method: 'wanda', sparsity: 0.6, allocation: 'owl' },
      { calibration: calibrationText },
      { onEvent: (e) => events.push(e.type) },
    );
    const allocation = result.allocation?.blockSparsity ?? [];
    expect(allocation).toHaveLength(5);
    expect(allocation.reduce((a, b) => a + b, 0) / 5).toBeCloseTo(0.6, 10);
    // Announced before the first layer is pruned.
    expect(events.indexOf('allocation')).toBeLessThan(events.indexOf('layer'));
    for (const layer of result.layers) {
      expect(layer.target).toBeCloseTo(allocation[layer.block], 12);
      // Wanda zeroes ⌊cols·s⌋ of each row.
      expect(layer.sparsity).toBeCloseTo(Math.floor(layer.cols * allocation[layer.block]) / layer.cols, 6);
    }
  });
});

/**
 * The whole layer solve against the float64 reference of SparseGPT's fasterprune: masks, reconstruction error and
 * exact sparsity on correlated inputs (X = Z·A) and on real layers of stories260K; odd, non-square shapes and
 * block sizes; prepare once, prune many; the GPU-resident variant; typed errors for bad settings.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useGpu } from '../../../test/gpu';
import { gaussian } from '../../../test/random';
import { fileByteSource } from '../../node/files';
import { readFloat32, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { openSafetensorsFile } from '../io/checkpoint';
import { SettingsError } from '../settings/validate';
import { InvalidTensorError, PatternMismatchError } from './errors';
import { HessianAccumulator } from './hessian';
import { correlatedInputs, maskAgreement, zerosInColumns } from './layer-solver.fixtures';
import {
  hessianReference,
  type Pattern,
  reconstructionErrorReference,
  sparsegptReference,
  wandaReference,
} from './layer-solver.reference';
import { type PreparedLayer, prepareLayer } from './prepare';
import { pruneLayer, pruneLayerOnGpu } from './prune';
import type { LayerPruneOptions } from './settings';

interface Layer {
  rows: number;
  cols: number;
  W: Float32Array;
  X: Float32Array;
  tokens: number;
  H: Float64Array;
}

function syntheticLayer(rows: number, cols: number, tokens: number, seed: number): Layer {
  const X = correlatedInputs(tokens, cols, seed);
  return { rows, cols, W: gaussian(rows * cols, seed + 7), X, tokens, H: hessianReference(X, tokens, cols) };
}

async function prepare(ctx: GpuContext, layer: Layer): Promise<PreparedLayer> {
  const accumulator = new HessianAccumulator(ctx, layer.cols);
  accumulator.addFromArray(layer.X, layer.tokens);
  const prepared = await prepareLayer(ctx, accumulator, layer.cols);
  accumulator.destroy();
  return prepared;
}

/** GPU solve vs reference: ≥ 99.5% same mask, relative error within 2%; returns both errors. */
async function expectMatchesReference(
  ctx: GpuContext,
  layer: Layer,
  prepared: PreparedLayer,
  sparsity: number,
  pattern: Pattern,
  blockSize: number,
) {
  const { rows, cols, W, H } = layer;
  const result = await pruneLayer(ctx, W, rows, cols, prepared, { sparsity, pattern, blockSize });
  const reference = sparsegptReference(W, rows, cols, H, { sparsity, pattern, blockSize });
  const referenceError = reconstructionErrorReference(W, reference.W, rows, cols, H).relativeError;
  expect(maskAgreement(result.W, reference.W)).toBeGreaterThanOrEqual(0.995);
  expect(Math.abs(result.relativeError / referenceError - 1)).toBeLessThan(0.02);
  // Both shapes of the walk kernel (one row per invocation, as on a GPU; four, as on a CPU) do the same arithmetic.
  for (const walkRowsPerInvocation of [1, 4] as const) {
    const options = { sparsity, pattern, blockSize, measureError: false, walkRowsPerInvocation };
    expect((await pruneLayer(ctx, W, rows, cols, prepared, options)).W).toEqual(result.W);
  }
  return { result, reference, referenceError };
}

function expectExactSparsity(
  W: Float32Array,
  rows: number,
  cols: number,
  sparsity: number,
  blockSize: number,
) {
  for (let start = 0; start < cols; start += blockSize) {
    const count = Math.min(blockSize, cols - start);
    const target = Math.floor(rows * count * sparsity);
    const zeros = zerosInColumns(W, rows, cols, start, start + count);
    // mask = metric ≤ the value of rank `target`: that one weight more, ties aside.
    expect(zeros - target).toBeGreaterThanOrEqual(0);
    expect(zeros - target).toBeLessThanOrEqual(1);
  }
}

function expectNm(W: Float32Array, rows: number, cols: number, n: number, m: number) {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j += m) {
      expect(zerosInColumns(W.subarray(r * cols, (r + 1) * cols), 1, cols, j, j + m)).toBe(n);
    }
  }
}

describe('SparseGPT layer solve on the GPU', () => {
  const gpu = useGpu();

  describe('unstructured, against the float64 reference', () => {
    it.each([
      [37, 70, 32, 0.5], // odd sizes, cols not a multiple of 4 or of the block
      [37, 70, 32, 0.7],
      [24, 96, 128, 0.5], // block larger than the layer
      [100, 40, 16, 0.6], // more rows than columns
      [5, 130, 64, 0.4], // three blocks of the factorization, the last partial
      [33, 90, 13, 0.5], // blocks that start off a multiple of 4 (scalar and vec4 columns in the walk)
    ])('%i×%i, block %i, sparsity %f', async (rows, cols, blockSize, sparsity) => {
      const ctx = await gpu();
      const layer = syntheticLayer(rows, cols, 3 * cols, rows + cols);
      const prepared = await prepare(ctx, layer);
      const { result } = await expectMatchesReference(
        ctx,
        layer,
        prepared,
        sparsity,
        'unstructured',
        blockSize,
      );
      expectExactSparsity(result.W, rows, cols, sparsity, blockSize);
      expect(result.sparsity).toBeCloseTo(sparsity, 1);
      prepared.destroy();
    });
  });

  describe('N:M, against the float64 reference', () => {
    it.each([
      [37, 72, 32, 2, 4],
      [20, 64, 128, 4, 8],
      [9, 48, 18, 1, 3], // M not a power of two: 15-column register blocks
      [12, 48, 24, 5, 24],
    ])('%i×%i, block %i, %i:%i: exactly N zeros in every group', async (rows, cols, blockSize, n, m) => {
      const ctx = await gpu();
      const layer = syntheticLayer(rows, cols, 3 * cols, rows * cols);
      const prepared = await prepare(ctx, layer);
      const { result } = await expectMatchesReference(ctx, layer, prepared, 0, { n, m }, blockSize);
      expectNm(result.W, rows, cols, n, m);
      expect(result.sparsity).toBeCloseTo(n / m, 6);
      prepared.destroy();
    });
  });

  it('beats Wanda and magnitude on correlated inputs, at 50% and 2:4', async () => {
    const ctx = await gpu();
    const layer = syntheticLayer(48, 64, 256, 99);
    const prepared = await prepare(ctx, layer);
    for (const options of [{ sparsity: 0.5 }, { pattern: { n: 2, m: 4 } }] as LayerPruneOptions[]) {
      const errors: Record<string, number> = {};
      for (const method of ['sparsegpt', 'wanda', 'magnitude'] as const) {
        const result = await pruneLayer(ctx, layer.W, layer.rows, layer.cols, prepared, {
          ...options,
          method,
        });
        expect(result.sparsity).toBeGreaterThanOrEqual(0.5);
        errors[method] = result.relativeError;
      }
      expect(errors.sparsegpt).toBeLessThan(errors.wanda);
      expect(errors.wanda).toBeLessThan(errors.magnitude);
    }
    prepared.destroy();
  });

  it('re-prunes a prepared layer at other sparsities exactly like a fresh preparation', async () => {
    const ctx = await gpu();
    const layer = syntheticLayer(33, 72, 200, 5);
    const shared = await prepare(ctx, layer);
    for (const options of [
      { sparsity: 0.3 },
      { sparsity: 0.6 },
      { pattern: { n: 2, m: 4 } },
    ] as LayerPruneOptions[]) {
      const fresh = await prepare(ctx, layer);
      const again = await pruneLayer(ctx, layer.W, layer.rows, layer.cols, shared, {
        ...options,
        blockSize: 32,
      });
      const once = await pruneLayer(ctx, layer.W, layer.rows, layer.cols, fresh, {
        ...options,
        blockSize: 32,
      });
      expect(again.W).toEqual(once.W);
      expect(again.relativeError).toBe(once.relativeError);
      fresh.destroy();
    }
    shared.destroy();
  });

  it('prunes from and to GPU buffers without touching the input, and zeroes dead input columns', async () => {
    const ctx = await gpu();
    const layer = syntheticLayer(21, 44, 120, 17);
    for (let t = 0; t < layer.tokens; t++) layer.X[t * layer.cols + 5] = 0;
    layer.H = hessianReference(layer.X, layer.tokens, layer.cols);
    const prepared = await prepare(ctx, layer);
    expect(prepared.deadCount).toBe(1);
    const input = uploadFloat32(ctx, layer.W, 'W');
    const before = Float32Array.from(layer.W);
    const onGpu = await pruneLayerOnGpu(ctx, input, layer.rows, layer.cols, prepared, { sparsity: 0.5 });
    const fromArray = await pruneLayer(ctx, layer.W, layer.rows, layer.cols, prepared, { sparsity: 0.5 });
    expect(await readFloat32(ctx, onGpu.W, layer.rows * layer.cols)).toEqual(fromArray.W);
    expect(await readFloat32(ctx, input, layer.rows * layer.cols)).toEqual(before);
    expect(layer.W).toEqual(before);
    expect(onGpu.relativeError).toBe(fromArray.relativeError);
    for (let r = 0; r < layer.rows; r++) expect(fromArray.W[r * layer.cols + 5]).toBe(0);
    const reference = sparsegptReference(layer.W, layer.rows, layer.cols, layer.H, { sparsity: 0.5 });
    expect(maskAgreement(fromArray.W, reference.W)).toBeGreaterThanOrEqual(0.995);
    expect(Object.keys(fromArray.timings)).toEqual(
      expect.arrayContaining(['deadColumns', 'select', 'walk', 'error', 'total']),
    );
    const unmeasured = await pruneLayer(ctx, layer.W, layer.rows, layer.cols, prepared, {
      measureError: false,
    });
    expect(unmeasured.relativeError).toBeNaN();
    expect(unmeasured.W).toEqual(fromArray.W);
    onGpu.W.destroy();
    input.destroy();
    prepared.destroy();
  });

  it('prunes nothing at sparsity 0', async () => {
    const ctx = await gpu();
    const layer = syntheticLayer(8, 12, 40, 2);
    const prepared = await prepare(ctx, layer);
    for (const method of ['sparsegpt', 'wanda', 'magnitude'] as const) {
      const result = await pruneLayer(ctx, layer.W, 8, 12, prepared, { method, sparsity: 0 });
      expect(result.W).toEqual(layer.W);
      expect(result.relativeError).toBe(0);
    }
    prepared.destroy();
  });

  it('rejects bad settings and inputs with typed, specific errors', async () => {
    const ctx = await gpu();
    const layer = syntheticLayer(4, 70, 100, 3);
    const prepared = await prepare(ctx, layer);
    const prune = (options: LayerPruneOptions, W: Float32Array | GPUBuffer = layer.W, cols = 70) =>
      pruneLayer(ctx, W, 4, cols, prepared, options);
    await expect(prune({ pattern: { n: 2, m: 4 } })).rejects.toThrow(PatternMismatchError);
    await expect(prune({ pattern: { n: 2, m: 4 } })).rejects.toThrow(/multiple of 4.*70 columns/);
    await expect(prune({ sparsity: 1 })).rejects.toThrow(
      /^Sparsity must be at least 0 and below 1 .*got 1\.$/,
    );
    await expect(prune({ sparsity: -0.1 })).rejects.toThrow(SettingsError);
    await expect(prune({ sparsity: Number.NaN })).rejects.toThrow(SettingsError);
    await expect(prune({ pattern: { n: 4, m: 4 } })).rejects.toThrow(/1 ≤ N < M .*got 4:4\.$/);
    await expect(prune({ pattern: { n: 0, m: 2 } })).rejects.toThrow(/1 ≤ N < M .*got 0:2\.$/);
    await expect(prune({ pattern: { n: 1, m: 35 } })).rejects.toThrow(/M can be at most 32 .*got 1:35\.$/);
    await expect(prune({ blockSize: 0 })).rejects.toThrow(
      /block size must be a whole number of columns ≥ 1; got 0\.$/,
    );
    await expect(prune({ blockSize: 2.5 })).rejects.toThrow(/block size .*got 2\.5\.$/);
    await expect(prune({ method: 'obs' as 'wanda' })).rejects.toThrow(/^Unknown method "obs"/);
    const bad = Float32Array.from(layer.W);
    bad[71] = Number.NaN;
    await expect(prune({}, bad)).rejects.toThrow(/W\[1, 1\] is NaN/);
    await expect(prune({}, layer.W, 69)).rejects.toThrow(InvalidTensorError);
    const badOnGpu = uploadFloat32(ctx, bad, 'bad W');
    await expect(prune({}, badOnGpu)).rejects.toThrow(/W holds 1 NaN or infinite/);
    badOnGpu.destroy();
    // The device's error scopes stay balanced after typed errors: a normal prune still works.
    expect((await prune({ sparsity: 0.5 })).sparsity).toBeGreaterThan(0.49);
    prepared.destroy();
  });

  describe('real layers of stories260K (correlated synthetic inputs)', () => {
    const modelFile = new URL('../../../../shared/models/stories260K/model.safetensors', import.meta.url);
    const checkpoint = fileByteSource(fileURLToPath(modelFile)).then(openSafetensorsFile);
    it.each([
      ['model.layers.0.self_attn.q_proj.weight', 'unstructured'],
      ['model.layers.2.mlp.down_proj.weight', 'unstructured'],
      ['model.layers.4.mlp.gate_proj.weight', { n: 2, m: 4 }],
      ['model.layers.1.mlp.down_proj.weight', { n: 2, m: 4 }],
    ] as const)('%s, %j', async (name, pattern) => {
      const ctx = await gpu();
      const weights = await checkpoint;
      const [rows, cols] = weights.tensor(name).shape;
      const tokens = 256;
      const X = correlatedInputs(tokens, cols, rows + cols);
      const layer: Layer = {
        rows,
        cols,
        W: await weights.readFloat32(name),
        X,
        tokens,
        H: hessianReference(X, tokens, cols),
      };
      const prepared = await prepare(ctx, layer);
      const { result, referenceError } = await expectMatchesReference(
        ctx,
        layer,
        prepared,
        0.5,
        pattern,
        128,
      );
      if (pattern === 'unstructured') expectExactSparsity(result.W, rows, cols, 0.5, 128);
      else expectNm(result.W, rows, cols, pattern.n, pattern.m);
      const norms = Array.from({ length: cols }, (_, j) => Math.sqrt((layer.H[j * cols + j] * tokens) / 2));
      const wanda = wandaReference(layer.W, rows, cols, norms, { sparsity: 0.5, pattern });
      expect(referenceError).toBeLessThan(
        reconstructionErrorReference(layer.W, wanda, rows, cols, layer.H).relativeError,
      );
      prepared.destroy();
    });
  });
});

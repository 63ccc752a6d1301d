/**
 * Pruning one linear layer on the GPU with SparseGPT (Frantar & Alistarh 2023, Algorithm 1), Wanda or magnitude,
 * from a PreparedLayer: the caller's W is never modified; the result comes back as an array or stays on the GPU
 * for the forward re-run, with the achieved sparsity, the relative reconstruction error and milliseconds per step.
 */
import deadColumnsShader from '../../../shaders/zero_dead_columns.wgsl?raw';
import { bindingLimit, createStorageBuffer } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { computePipeline, withErrorScope } from '../gpu/pipelines';
import { encodeBaseline } from './baselines';
import {
  type ChunkedMatrix,
  copyChunksIntoBuffer,
  copyRowRangeStrided,
  copyRowsIntoChunks,
  createChunkedMatrix,
  destroyChunkedMatrix,
  readChunkedMatrix,
  uploadChunkedMatrix,
} from './chunked-matrix';
import { InvalidSettingError, InvalidTensorError } from './errors';
import { bindResources, dispatchIn, GpuRun, readUint32, type TimingSource, workgroupGrid } from './gpu-run';
import { blockScratchStrides, encodeLazyBatchUpdate } from './lazy-update';
import { encodeMatrixStats } from './matrix-stats';
import type { PreparedLayer } from './prepare';
import {
  type ErrorPartials,
  encodeReconstructionError,
  readReconstructionError,
} from './reconstruction-error';
import { createSelectScratch, encodeRadixSelect, SelectMetric } from './select';
import { type LayerPruneOptions, type ResolvedLayerPrune, resolveLayerPrune } from './settings';
import { encodePruneBlockWalk } from './walk';

export interface LayerPruneReport {
  /** Fraction of exact zeros in the pruned W (zeros already in W included). */
  sparsity: number;
  zeros: number;
  /** tr(ΔW·H·ΔWᵀ) / tr(W·H·Wᵀ), undamped H; NaN when measureError is false. */
  relativeError: number;
  /** Milliseconds per step (select, walk, lazyUpdate, mask, deadColumns, error, stats) and the whole call (total). */
  timings: Record<string, number>;
  timingSource: TimingSource;
}

export interface PrunedLayer extends LayerPruneReport {
  W: Float32Array;
}

export interface PrunedLayerOnGpu extends LayerPruneReport {
  /** Row-major [rows, cols] f32, owned by the caller (destroy it when done). */
  W: GPUBuffer;
}

export async function pruneLayer(
  ctx: GpuContext,
  W: GPUBuffer | Float32Array,
  rows: number,
  cols: number,
  prepared: PreparedLayer,
  options: LayerPruneOptions = {},
): Promise<PrunedLayer> {
  const { working, report } = await pruneIntoChunks(ctx, W, rows, cols, prepared, options);
  try {
    return { ...report, W: await readChunkedMatrix(ctx, working) };
  } finally {
    destroyChunkedMatrix(working);
  }
}

export async function pruneLayerOnGpu(
  ctx: GpuContext,
  W: GPUBuffer | Float32Array,
  rows: number,
  cols: number,
  prepared: PreparedLayer,
  options: LayerPruneOptions = {},
): Promise<PrunedLayerOnGpu> {
  const { working, report } = await pruneIntoChunks(ctx, W, rows, cols, prepared, options);
  try {
    const out = createStorageBuffer(ctx, rows * cols * 4, 'prunedW');
    const encoder = ctx.device.createCommandEncoder({ label: 'prunedW' });
    copyChunksIntoBuffer(encoder, working, out);
    ctx.device.queue.submit([encoder.finish()]);
    return { ...report, W: out };
  } finally {
    destroyChunkedMatrix(working);
  }
}

async function pruneIntoChunks(
  ctx: GpuContext,
  W: GPUBuffer | Float32Array,
  rows: number,
  cols: number,
  prepared: PreparedLayer,
  options: LayerPruneOptions,
): Promise<{ working: ChunkedMatrix; report: LayerPruneReport }> {
  const started = performance.now();
  checkShape(W, rows, cols, prepared);
  const settings = resolveLayerPrune(options, cols);
  const fromGpu = !(W instanceof Float32Array);
  const keepOriginal = settings.measureError || fromGpu;
  const { working, original } = loadWeights(ctx, W, rows, cols, keepOriginal);
  const run = new GpuRun(ctx, `prune.${settings.method}`);
  try {
    return await withErrorScope(ctx, `pruning a ${rows}×${cols} layer`, async () => {
      if (settings.method === 'sparsegpt') await encodeSparseGpt(ctx, run, working, prepared, settings);
      else await encodeBaseline(ctx, run, working, prepared, settings);
      let partials: ErrorPartials | undefined;
      if (settings.measureError && original) {
        await run.pass('error', (pass) => {
          partials = encodeReconstructionError(ctx, run, pass, original, working, prepared.H);
        });
      }
      const counters = run.buffer(8, 'counters');
      const inputCounters = run.buffer(8, 'inputCounters');
      await run.pass('stats', (pass) => {
        encodeMatrixStats(ctx, run, pass, working, counters);
        if (fromGpu && original) encodeMatrixStats(ctx, run, pass, original, inputCounters);
      });
      const timings = await run.finish();
      const [zeros] = await readUint32(ctx, counters, 2);
      if (fromGpu) {
        const [, nonFinite] = await readUint32(ctx, inputCounters, 2);
        if (nonFinite > 0) throw new InvalidTensorError(`W holds ${nonFinite} NaN or infinite values`);
      }
      const error = partials ? await readReconstructionError(ctx, partials) : undefined;
      timings.total = performance.now() - started;
      const report: LayerPruneReport = {
        sparsity: zeros / (rows * cols),
        zeros,
        relativeError: error ? error.relativeError : Number.NaN,
        timings,
        timingSource: run.timing,
      };
      return { working, report };
    });
  } catch (error) {
    destroyChunkedMatrix(working);
    throw error;
  } finally {
    run.destroy();
    if (original) destroyChunkedMatrix(original);
  }
}

function checkShape(W: GPUBuffer | Float32Array, rows: number, cols: number, prepared: PreparedLayer): void {
  if (!Number.isInteger(rows) || rows < 1)
    throw new InvalidSettingError('rows', rows, 'a positive whole number');
  if (!Number.isInteger(cols) || cols < 1)
    throw new InvalidSettingError('cols', cols, 'a positive whole number');
  if (cols !== prepared.columns) {
    throw new InvalidTensorError(
      `W has ${cols} columns but the prepared Hessian is ${prepared.columns} wide`,
    );
  }
  if (W instanceof Float32Array) {
    if (W.length !== rows * cols) {
      throw new InvalidTensorError(`W has ${W.length} values but [${rows}, ${cols}] needs ${rows * cols}`);
    }
    for (let i = 0; i < W.length; i++) {
      if (!Number.isFinite(W[i])) {
        throw new InvalidTensorError(
          `W[${Math.floor(i / cols)}, ${i % cols}] is ${W[i]}: weights must be finite`,
        );
      }
    }
  } else if (W.size < rows * cols * 4) {
    throw new InvalidTensorError(
      `W buffer holds ${W.size} bytes but [${rows}, ${cols}] f32 needs ${rows * cols * 4}`,
    );
  }
}

function loadWeights(
  ctx: GpuContext,
  W: GPUBuffer | Float32Array,
  rows: number,
  cols: number,
  keepOriginal: boolean,
): { working: ChunkedMatrix; original?: ChunkedMatrix } {
  if (W instanceof Float32Array) {
    const working = uploadChunkedMatrix(ctx, W, rows, cols, 'W');
    return {
      working,
      original: keepOriginal ? uploadChunkedMatrix(ctx, W, rows, cols, 'Woriginal') : undefined,
    };
  }
  const working = createChunkedMatrix(ctx, rows, cols, 'W');
  const original = keepOriginal ? createChunkedMatrix(ctx, rows, cols, 'Woriginal') : undefined;
  const encoder = ctx.device.createCommandEncoder({ label: 'load W' });
  copyRowsIntoChunks(encoder, W, 0, working);
  if (original) copyRowsIntoChunks(encoder, W, 0, original);
  ctx.device.queue.submit([encoder.finish()]);
  return { working, original };
}

/** Blocks recorded between submissions, so the GPU starts early and command buffers stay small. */
const BLOCKS_PER_SUBMIT = 8;

async function encodeSparseGpt(
  ctx: GpuContext,
  run: GpuRun,
  W: ChunkedMatrix,
  prepared: PreparedLayer,
  settings: ResolvedLayerPrune,
): Promise<void> {
  const cols = W.cols;
  if (prepared.deadCount > 0) {
    await run.pass('deadColumns', (pass) => {
      const pipeline = computePipeline(ctx, deadColumnsShader);
      for (const chunk of W.chunks) {
        const count = chunk.rows * cols;
        const slot = run.params.slot([cols, count]);
        const [x, y] = workgroupGrid(ctx, Math.ceil(count / 256));
        dispatchIn(
          pass,
          pipeline,
          bindResources(ctx, pipeline, [chunk.buffer, prepared.deadColumns, slot]),
          x,
          y,
        );
      }
    });
  }
  const unstructured = settings.pattern === 'unstructured';
  if (unstructured && settings.sparsity === 0) return;
  const { errStride, panelStride, panelRows } = blockScratchStrides(cols, settings.blockSize);
  const panelBytes = panelRows * panelStride * 4;
  if (panelBytes > bindingLimit(ctx)) {
    throw new InvalidSettingError(
      'blockSize',
      settings.blockSize,
      `${panelRows} rows of U exceed this GPU's binding limit; use at most ` +
        `${Math.floor(bindingLimit(ctx) / (panelStride * 4 * 32)) * 32}`,
    );
  }
  const uPanel = run.buffer(panelBytes, 'uPanel');
  const errs = W.chunks.map((chunk) => run.buffer(chunk.rows * errStride * 4, 'err'));
  const select = createSelectScratch(run);
  let blocks = 0;
  for (let blockStart = 0; blockStart < cols; blockStart += settings.blockSize) {
    const blockCount = Math.min(settings.blockSize, cols - blockStart);
    run.commands((encoder) =>
      copyRowRangeStrided(encoder, prepared.U, blockStart, blockCount, uPanel, panelStride),
    );
    if (unstructured) {
      const rank = Math.floor(W.rows * blockCount * settings.sparsity);
      await run.pass('select', (pass) =>
        encodeRadixSelect(ctx, run, pass, W, select, {
          metric: SelectMetric.weightOverDiagonalSquared,
          colStart: blockStart,
          colCount: blockCount,
          rank,
          uPanel,
          panelStride,
        }),
      );
    }
    const block = {
      columns: cols,
      blockStart,
      blockCount,
      errStride,
      uPanel,
      panelStride,
      selectState: select.state,
    };
    await run.pass('walk', (pass) => {
      W.chunks.forEach((chunk, i) => {
        encodePruneBlockWalk(ctx, run, pass, chunk, errs[i], block, settings);
      });
    });
    if (blockStart + blockCount < cols) {
      await run.pass('lazyUpdate', (pass) => {
        W.chunks.forEach((chunk, i) => {
          encodeLazyBatchUpdate(ctx, run, pass, chunk, errs[i], block);
        });
      });
    }
    if (++blocks % BLOCKS_PER_SUBMIT === 0) run.submit();
  }
}

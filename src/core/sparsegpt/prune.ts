/**
 * Pruning one linear layer on the GPU with SparseGPT (Frantar & Alistarh 2023, Algorithm 1), Wanda or magnitude,
 * from a PreparedLayer: the caller's W is never modified; the result comes back as an array or stays on the GPU
 * for the forward re-run, with the achieved sparsity, the relative reconstruction error and milliseconds per step.
 */
import deadColumnsShader from '../../../shaders/solver/zero_dead_columns.wgsl?raw';
import { createStorageBuffer, readUint32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { bindingLimit, workgroupGrid } from '../gpu/limits';
import { computePipeline, withErrorScope } from '../gpu/pipelines';
import { CommandRecorder, type TimingSource } from '../gpu/recorder';
import { SplitMatrix, TILED } from '../gpu/split-matrix';
import { encodeBaseline } from './baselines';
import { InvalidSettingError, InvalidTensorError } from './errors';
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
  const working = loadWorkingCopy(ctx, W, rows, cols, prepared);
  try {
    const report = await pruneLayerInPlace(ctx, working, prepared, options);
    return { ...report, W: await working.read() };
  } finally {
    working.destroy();
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
  const working = loadWorkingCopy(ctx, W, rows, cols, prepared);
  try {
    const report = await pruneLayerInPlace(ctx, working, prepared, options);
    const out = createStorageBuffer(ctx, rows * cols * 4, 'prunedW');
    const encoder = ctx.device.createCommandEncoder({ label: 'prunedW' });
    working.copyRowsTo(encoder, 0, rows, out);
    ctx.device.queue.submit([encoder.finish()]);
    return { ...report, W: out };
  } finally {
    working.destroy();
  }
}

/**
 * Prunes W [rows = out, cols = in] where it is, on the GPU: the pipeline passes one linear's rows of a block's
 * weights, which the forward then runs with. W's values are checked too (NaN or ±Inf throw InvalidTensorError).
 */
export async function pruneLayerInPlace(
  ctx: GpuContext,
  W: SplitMatrix,
  prepared: PreparedLayer,
  options: LayerPruneOptions = {},
): Promise<LayerPruneReport> {
  const started = performance.now();
  const { rows, cols } = W;
  checkShape(rows, cols, prepared);
  const settings = resolveLayerPrune(options, cols);
  const recorder = new CommandRecorder(ctx, `prune.${settings.method}`);
  let original: SplitMatrix | undefined;
  try {
    return await withErrorScope(ctx, `pruning a ${rows}×${cols} layer`, async () => {
      const counters = recorder.buffer(8, 'counters');
      const inputCounters = recorder.buffer(8, 'inputCounters');
      if (settings.measureError) {
        original = W.allocateLike('Woriginal');
        W.copyTo(recorder.commands, original);
      } else {
        await recorder.step('stats', () => encodeMatrixStats(ctx, recorder, W, inputCounters));
      }
      if (settings.method === 'sparsegpt') await encodeSparseGpt(ctx, recorder, W, prepared, settings);
      else await encodeBaseline(ctx, recorder, W, prepared, settings);
      let partials: ErrorPartials | undefined;
      if (original) {
        const kept = original;
        await recorder.step('error', () => {
          partials = encodeReconstructionError(ctx, recorder, kept, W, prepared.H);
        });
      }
      await recorder.step('stats', () => {
        encodeMatrixStats(ctx, recorder, W, counters);
        if (original) encodeMatrixStats(ctx, recorder, original, inputCounters);
      });
      const timings = await recorder.finish();
      const [zeros] = await readUint32(ctx, counters, 2);
      const [, nonFinite] = await readUint32(ctx, inputCounters, 2);
      if (nonFinite > 0) throw new InvalidTensorError(`W holds ${nonFinite} NaN or infinite values`);
      const error = partials ? await readReconstructionError(ctx, partials) : undefined;
      timings.total = performance.now() - started;
      return {
        sparsity: zeros / (rows * cols),
        zeros,
        relativeError: error ? error.relativeError : Number.NaN,
        timings,
        timingSource: recorder.timing,
      };
    });
  } finally {
    recorder.destroy();
    original?.destroy();
  }
}

function checkShape(rows: number, cols: number, prepared: PreparedLayer): void {
  if (!Number.isInteger(rows) || rows < 1)
    throw new InvalidSettingError('rows', rows, 'a positive whole number');
  if (!Number.isInteger(cols) || cols < 1)
    throw new InvalidSettingError('cols', cols, 'a positive whole number');
  if (cols !== prepared.columns) {
    throw new InvalidTensorError(
      `W has ${cols} columns but the prepared Hessian is ${prepared.columns} wide`,
    );
  }
}

/** A copy of the caller's W on the GPU, checked: the caller's W is never modified. */
function loadWorkingCopy(
  ctx: GpuContext,
  W: GPUBuffer | Float32Array,
  rows: number,
  cols: number,
  prepared: PreparedLayer,
): SplitMatrix {
  checkShape(rows, cols, prepared);
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
    return SplitMatrix.upload(ctx, W, rows, cols, 'W', TILED);
  }
  if (W.size < rows * cols * 4) {
    throw new InvalidTensorError(
      `W buffer holds ${W.size} bytes but [${rows}, ${cols}] f32 needs ${rows * cols * 4}`,
    );
  }
  const working = SplitMatrix.allocate(ctx, rows, cols, 'W', TILED);
  const encoder = ctx.device.createCommandEncoder({ label: 'load W' });
  working.copyRowsFrom(encoder, 0, W, rows);
  ctx.device.queue.submit([encoder.finish()]);
  return working;
}

async function encodeSparseGpt(
  ctx: GpuContext,
  recorder: CommandRecorder,
  W: SplitMatrix,
  prepared: PreparedLayer,
  settings: ResolvedLayerPrune,
): Promise<void> {
  const cols = W.cols;
  if (prepared.deadCount > 0) {
    await recorder.step('deadColumns', () => {
      const pipeline = computePipeline(ctx, deadColumnsShader);
      for (const part of W.parts) {
        const count = part.rows * cols;
        const params = recorder.params([cols, count]);
        recorder.dispatch(
          pipeline,
          [part.buffer, prepared.deadColumns, params],
          ...workgroupGrid(ctx, count, 256),
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
  const uPanel = recorder.buffer(panelBytes, 'uPanel');
  const errs = W.parts.map((part) => recorder.buffer(part.rows * errStride * 4, 'err'));
  const select = createSelectScratch(recorder);
  for (let blockStart = 0; blockStart < cols; blockStart += settings.blockSize) {
    const blockCount = Math.min(settings.blockSize, cols - blockStart);
    prepared.U.copyRowsTo(recorder.commands, blockStart, blockCount, uPanel, panelStride);
    if (unstructured) {
      const rank = Math.floor(W.rows * blockCount * settings.sparsity);
      await recorder.step('select', () =>
        encodeRadixSelect(ctx, recorder, W, select, {
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
    await recorder.step('walk', () => {
      W.parts.forEach((part, i) => {
        encodePruneBlockWalk(ctx, recorder, part, errs[i], block, settings);
      });
    });
    if (blockStart + blockCount < cols) {
      await recorder.step('lazyUpdate', () => {
        W.parts.forEach((part, i) => {
          encodeLazyBatchUpdate(ctx, recorder, part, errs[i], block);
        });
      });
    }
  }
}

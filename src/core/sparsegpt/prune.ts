/**
 * Pruning one linear layer on the GPU with SparseGPT (sparsegpt.ts), Wanda or magnitude (baselines.ts), from a
 * PreparedLayer, with the achieved sparsity, the relative reconstruction error and milliseconds per step:
 * pruneLayerInPlace prunes a W that is already on the GPU where it is (the pipeline's block weights); pruneLayer
 * and pruneLayerOnGpu leave the caller's W as it is and return the result as an array or a new GPU buffer.
 */
import { createStorageBuffer, readFloat32, readUint32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder, type TimingSource } from '../gpu/recorder';
import { SplitMatrix, TILED } from '../gpu/split-matrix';
import type { GgmlType } from '../quant/ggml-types';
import { encodeBaseline } from './baselines';
import { InvalidSettingError, InvalidTensorError } from './errors';
import { encodeMatrixStats } from './matrix-stats';
import type { PreparedLayer } from './prepare';
import { scaleStride } from './quant-scales';
import {
  type ErrorPartials,
  encodeReconstructionError,
  readReconstructionError,
} from './reconstruction-error';
import { type LayerPruneOptions, type ResolvedLayerPrune, resolveLayerPrune } from './settings';
import { encodeQuantizeAfterMask, encodeSparseGpt } from './sparsegpt';

export interface LayerPruneReport {
  /** Fraction of exact zeros in the pruned W (zeros already in W included). */
  sparsity: number;
  zeros: number;
  /** tr(ΔW·H·ΔWᵀ) / tr(W·H·Wᵀ), undamped H; NaN when measureError is false. */
  relativeError: number;
  /** Milliseconds per step (select, walk, lazyUpdate, mask, deadColumns, error, stats) and the whole call (total). */
  timings: Record<string, number>;
  timingSource: TimingSource;
  /**
   * Quantized: the ggml type of every weight, and (for block types) the scale words of every block, row-major
   * [rows, cols / block columns · words per block] as quant_block_scales.wgsl lays them out. The weights are the
   * values those scales give: re-quantizing them under the scales gives them back (src/core/quant/solved-rows.ts).
   */
  quantization?: { type: GgmlType; scales?: Float32Array };
}

/**
 * What a method's encoder works on: W on the GPU (pruned in place), the prepared Hessian, the checked settings, and
 * for a quantization with block scales one buffer of scale words per part of W.
 */
export interface LayerSolve {
  W: SplitMatrix;
  prepared: PreparedLayer;
  settings: ResolvedLayerPrune;
  scales?: GPUBuffer[];
}

export interface PrunedLayer extends LayerPruneReport {
  W: Float32Array;
}

export interface PrunedLayerOnGpu extends LayerPruneReport {
  /** Row-major [rows, cols] f32, owned by the caller (destroy it when done). */
  W: GPUBuffer;
}

export function pruneLayer(
  ctx: GpuContext,
  W: GPUBuffer | Float32Array,
  rows: number,
  cols: number,
  prepared: PreparedLayer,
  options: LayerPruneOptions = {},
): Promise<PrunedLayer> {
  return pruneCopy(ctx, { W, rows, cols, prepared, options }, (working) => working.read());
}

export function pruneLayerOnGpu(
  ...[ctx, W, rows, cols, prepared, options = {}]: Parameters<typeof pruneLayer>
): Promise<PrunedLayerOnGpu> {
  return pruneCopy(ctx, { W, rows, cols, prepared, options }, async (working) => {
    const out = createStorageBuffer(ctx, rows * cols * 4, 'prunedW');
    const encoder = ctx.device.createCommandEncoder({ label: 'prunedW' });
    working.copyRowsTo(encoder, 0, rows, out);
    ctx.device.queue.submit([encoder.finish()]);
    return out;
  });
}

/** Prunes a copy of the caller's W (which stays as it is) and hands the pruned copy to `take`. */
async function pruneCopy<T>(
  ctx: GpuContext,
  layer: {
    W: GPUBuffer | Float32Array;
    rows: number;
    cols: number;
    prepared: PreparedLayer;
    options: LayerPruneOptions;
  },
  take: (working: SplitMatrix) => Promise<T>,
): Promise<LayerPruneReport & { W: T }> {
  const working = loadWorkingCopy(ctx, layer.W, layer.rows, layer.cols, layer.prepared);
  try {
    const report = await pruneLayerInPlace(ctx, working, layer.prepared, layer.options);
    return { ...report, W: await take(working) };
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
      // The pruned W's [zeros, non-finite] counts, and W's as it came at the next storage offset (read together).
      const offset = ctx.device.limits.minStorageBufferOffsetAlignment;
      const counterBuffer = recorder.buffer(offset + 8, 'counters');
      const counters = { buffer: counterBuffer, offset: 0, size: 8 };
      const inputCounters = { buffer: counterBuffer, offset, size: 8 };
      if (settings.measureError) {
        original = W.allocateLike('Woriginal');
        W.copyTo(recorder.commands, original);
      } else {
        await recorder.step('stats', () => encodeMatrixStats(ctx, recorder, W, inputCounters));
      }
      const { quantization } = settings;
      const stride = quantization ? scaleStride(quantization, cols) : 0;
      const scales =
        stride > 0
          ? W.parts.map((part) => recorder.buffer(Math.max(16, part.rows * stride * 4), 'scales'))
          : undefined;
      const solve = { W, prepared, settings, scales };
      if (settings.method === 'sparsegpt') await encodeSparseGpt(ctx, recorder, solve);
      else {
        await encodeBaseline(ctx, recorder, solve);
        if (quantization) await encodeQuantizeAfterMask(ctx, recorder, solve);
      }
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
      const words = await readUint32(ctx, counterBuffer, offset / 4 + 2);
      const [zeros, nonFinite] = [words[0], words[offset / 4 + 1]];
      if (nonFinite > 0) throw new InvalidTensorError(`W holds ${nonFinite} NaN or infinite values`);
      const error = partials ? await readReconstructionError(ctx, partials) : undefined;
      const scaleWords = scales ? await readParts(ctx, scales, W, stride) : undefined;
      timings.total = performance.now() - started;
      return {
        sparsity: zeros / (rows * cols),
        zeros,
        relativeError: error ? error.relativeError : Number.NaN,
        timings,
        timingSource: recorder.timing,
        ...(quantization ? { quantization: { type: quantization.type, scales: scaleWords } } : {}),
      };
    });
  } finally {
    recorder.destroy();
    original?.destroy();
  }
}

/** Per-part buffers of `stride` words per row of W, as one row-major array. */
async function readParts(
  ctx: GpuContext,
  buffers: GPUBuffer[],
  W: SplitMatrix,
  stride: number,
): Promise<Float32Array> {
  const out = new Float32Array(W.rows * stride);
  for (const [i, part] of W.parts.entries()) {
    if (part.rows > 0)
      out.set(await readFloat32(ctx, buffers[i], part.rows * stride), part.firstRow * stride);
  }
  return out;
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

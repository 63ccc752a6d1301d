/**
 * Prepare once, prune many: everything SparseGPT derives from a layer's Hessian (dead inputs, dampening, the
 * Cholesky factor U of H⁻¹, Wanda's input norms) computed once on the GPU and kept there, so that re-pruning the
 * layer at another sparsity, pattern or method (the app's sliders) costs only the pruning itself.
 * Hosts shaders/solver/hessian_diagonal.wgsl, hessian_damping.wgsl and hessian_damp_copy.wgsl; the
 * factorization is cholesky.ts's.
 */
import dampCopyShader from '../../../shaders/solver/hessian_damp_copy.wgsl?raw';
import dampingShader from '../../../shaders/solver/hessian_damping.wgsl?raw';
import diagonalShader from '../../../shaders/solver/hessian_diagonal.wgsl?raw';
import { createStorageBuffer, readUint32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { workgroupGrid } from '../gpu/limits';
import { computePipeline, withErrorScope } from '../gpu/pipelines';
import { CommandRecorder, f32 } from '../gpu/recorder';
import { SplitMatrix, TILED } from '../gpu/split-matrix';
import { createFactorScratch, encodeReverseCholesky, encodeUpperTriangularInverse } from './cholesky';
import { CholeskyFailedError, InvalidSettingError, InvalidTensorError } from './errors';
import { HessianAccumulator } from './hessian';
import { encodeMatrixStats } from './matrix-stats';

export interface PrepareOptions {
  /** Dampening as a fraction of mean(diag H) (the paper's percdamp). Default 0.01. */
  percdamp?: number;
  /** Times the dampening is multiplied by 10 after a failed factorization before giving up. Default 6. */
  maxRetries?: number;
  /** Calibration token count behind a Float32Array H (scales Wanda's norms only). Default 2. */
  tokens?: number;
}

export interface PreparedLayer {
  readonly columns: number;
  /** Calibration tokens behind H. */
  readonly tokens: number;
  /** Upper Cholesky factor of the damped H⁻¹ (H⁻¹ = Uᵀ·U), zero below the diagonal. */
  readonly U: SplitMatrix;
  /** The undamped H (upper triangle), for the reconstruction error. */
  readonly H: SplitMatrix;
  /** u32 per input column: 1 where H_jj = 0. */
  readonly deadColumns: GPUBuffer;
  readonly deadCount: number;
  /** f32 per input column: ‖X_j‖₂ = sqrt(H_jj · N / 2), Wanda's input norms. */
  readonly columnNorms: GPUBuffer;
  /** Dampening finally used, as a fraction of mean(diag H), and as the absolute λ added to the diagonal. */
  readonly percdamp: number;
  readonly damping: number;
  /** How many times the dampening had to be raised ×10 because a pivot was not positive. */
  readonly retries: number;
  /** Milliseconds per step: diagonal, dampCopy, cholesky, inverse, check, total. */
  readonly timings: Record<string, number>;
  destroy(): void;
}

const STATUS_WORDS = 8;

export async function prepareLayer(
  ctx: GpuContext,
  H: HessianAccumulator | Float32Array,
  columns: number,
  options: PrepareOptions = {},
): Promise<PreparedLayer> {
  const started = performance.now();
  const percdamp = options.percdamp ?? 0.01;
  const maxRetries = options.maxRetries ?? 6;
  if (!Number.isFinite(percdamp) || percdamp < 0) {
    throw new InvalidSettingError('percdamp', percdamp, 'a finite fraction ≥ 0 of mean(diag H), e.g. 0.01');
  }
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new InvalidSettingError('maxRetries', maxRetries, 'a whole number ≥ 0');
  }
  const { hessian, tokens } = hessianOnGpu(ctx, H, columns, options.tokens);
  const A = SplitMatrix.allocate(ctx, columns, columns, 'U', TILED);
  const deadColumns = createStorageBuffer(ctx, columns * 4, 'deadColumns');
  const columnNorms = createStorageBuffer(ctx, columns * 4, 'columnNorms');
  const owned = { hessian, A, deadColumns, columnNorms };
  const recorder = new CommandRecorder(ctx, 'prepare');
  try {
    return await withErrorScope(ctx, `preparing a ${columns}-column layer`, async () => {
      const diagonal = recorder.buffer(columns * 4, 'diagonal');
      const status = recorder.buffer(STATUS_WORDS * 4, 'status');
      const counters = recorder.buffer(8, 'counters');
      const scratch = createFactorScratch(ctx, recorder, A);
      await recorder.step('diagonal', () => {
        const pipeline = computePipeline(ctx, diagonalShader);
        for (const part of hessian.parts) {
          const params = recorder.params([columns, part.firstRow, part.rows]);
          recorder.dispatch(pipeline, [part.buffer, diagonal, params], Math.ceil(part.rows / 256));
        }
        const damping = computePipeline(ctx, dampingShader);
        const params = recorder.params([columns, f32(tokens), f32(percdamp)]);
        recorder.dispatch(damping, [diagonal, deadColumns, columnNorms, status, params], 1);
      });

      const timings: Record<string, number> = {};
      let attemptPercdamp = percdamp;
      for (let retries = 0; ; retries++) {
        recorder.commands.clearBuffer(status, 8, 8);
        recorder.commands.clearBuffer(counters);
        await recorder.step('dampCopy', () =>
          encodeDampCopy(ctx, recorder, hessian, A, deadColumns, status, attemptPercdamp),
        );
        await recorder.step('cholesky', () => encodeReverseCholesky(ctx, recorder, A, status, scratch));
        await recorder.step('inverse', () => encodeUpperTriangularInverse(ctx, recorder, A, scratch));
        await recorder.step('check', () => encodeMatrixStats(ctx, recorder, A, counters));
        for (const [step, ms] of Object.entries(await recorder.finish()))
          timings[step] = (timings[step] ?? 0) + ms;
        const words = await readUint32(ctx, status, STATUS_WORDS);
        const [, nonFiniteU] = await readUint32(ctx, counters, 2);
        if (words[3] > 0) {
          throw new InvalidTensorError(
            `the Hessian holds ${words[3]} NaN or infinite values in its upper triangle`,
          );
        }
        const failed = words[2] > 0 || nonFiniteU > 0;
        if (!failed) {
          const mean = new Float32Array(words.buffer, 16, 1)[0];
          timings.total = performance.now() - started;
          return {
            columns,
            tokens,
            U: A,
            H: hessian,
            deadColumns,
            deadCount: words[1],
            columnNorms,
            percdamp: attemptPercdamp,
            damping: attemptPercdamp * mean,
            retries,
            timings,
            destroy: () => destroyAll(owned),
          };
        }
        if (retries === maxRetries) throw new CholeskyFailedError(attemptPercdamp, retries);
        attemptPercdamp = attemptPercdamp > 0 ? attemptPercdamp * 10 : 0.01;
      }
    });
  } catch (error) {
    destroyAll(owned);
    throw error;
  } finally {
    recorder.destroy();
  }
}

function destroyAll(owned: {
  hessian: SplitMatrix;
  A: SplitMatrix;
  deadColumns: GPUBuffer;
  columnNorms: GPUBuffer;
}): void {
  owned.hessian.destroy();
  owned.A.destroy();
  owned.deadColumns.destroy();
  owned.columnNorms.destroy();
}

/** A private copy of H on the GPU, so the accumulator can go on (or be destroyed) independently. */
function hessianOnGpu(
  ctx: GpuContext,
  H: HessianAccumulator | Float32Array,
  columns: number,
  tokensOption: number | undefined,
): { hessian: SplitMatrix; tokens: number } {
  if (!Number.isInteger(columns) || columns < 1) {
    throw new InvalidSettingError('columns', columns, 'a positive whole number');
  }
  if (H instanceof HessianAccumulator) {
    if (H.columns !== columns) {
      throw new InvalidTensorError(`the Hessian has ${H.columns} columns but the layer has ${columns}`);
    }
    if (H.tokens === 0) throw new InvalidTensorError('the Hessian has seen no calibration tokens yet');
    const hessian = H.H.allocateLike('H');
    const encoder = ctx.device.createCommandEncoder({ label: 'copy H' });
    H.H.copyTo(encoder, hessian);
    ctx.device.queue.submit([encoder.finish()]);
    return { hessian, tokens: H.tokens };
  }
  const tokens = tokensOption ?? 2;
  if (!Number.isFinite(tokens) || tokens <= 0) {
    throw new InvalidSettingError('tokens', tokens, 'the positive number of calibration tokens behind H');
  }
  if (H.length !== columns * columns) {
    throw new InvalidTensorError(
      `H has ${H.length} values but a ${columns}×${columns} Hessian needs ${columns ** 2}`,
    );
  }
  for (let i = 0; i < H.length; i++) {
    if (!Number.isFinite(H[i])) {
      throw new InvalidTensorError(
        `H[${Math.floor(i / columns)}, ${i % columns}] is ${H[i]}: H must be finite`,
      );
    }
  }
  return { hessian: SplitMatrix.upload(ctx, H, columns, columns, 'H', TILED), tokens };
}

function encodeDampCopy(
  ctx: GpuContext,
  recorder: CommandRecorder,
  hessian: SplitMatrix,
  A: SplitMatrix,
  deadColumns: GPUBuffer,
  status: GPUBuffer,
  percdamp: number,
): void {
  const pipeline = computePipeline(ctx, dampCopyShader);
  hessian.parts.forEach((part, i) => {
    const params = recorder.params([hessian.cols, part.firstRow, part.rows, f32(percdamp)]);
    recorder.dispatch(
      pipeline,
      [part.buffer, A.parts[i].buffer, deadColumns, status, params],
      ...workgroupGrid(ctx, part.rows * hessian.cols, 256),
    );
  });
}

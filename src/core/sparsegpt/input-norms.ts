/**
 * Host for shaders/solver/input_square_sums.wgsl: ‖X_j‖, the norm of each input of a linear layer over all
 * calibration tokens, fed straight from the GPU buffers the forward pass captures (no readback of X), in any
 * number of token batches. OWL's outlier scores |W_ij|·‖X_j‖ need only these, not a whole Hessian.
 */
import shader from '../../../shaders/solver/input_square_sums.wgsl?raw';
import { createStorageBuffer, readFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { bindingLimit, requireBindable } from '../gpu/limits';
import { computePipeline } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { InvalidSettingError, InvalidTensorError } from './errors';

export class InputNormAccumulator {
  private readonly sums: GPUBuffer;
  private seen = 0;

  constructor(
    private readonly ctx: GpuContext,
    readonly columns: number,
  ) {
    if (!Number.isInteger(columns) || columns < 1) {
      throw new InvalidSettingError('input columns', columns, 'a positive whole number');
    }
    // Fresh buffers are zero-filled by WebGPU: the first add starts from 0.
    this.sums = createStorageBuffer(ctx, columns * 4, 'input square sums');
  }

  /** Calibration tokens added so far. */
  get tokens(): number {
    return this.seen;
  }

  /**
   * Adds `tokens` rows of X (row-major f32 [tokens, columns], starting xOffsetFloats into the buffer). Only
   * records and submits GPU work; the buffer may be reused once the queue has run it.
   */
  add(X: GPUBuffer, tokens: number, xOffsetFloats = 0): void {
    const needed = (xOffsetFloats + tokens * this.columns) * 4;
    if (X.size < needed) {
      throw new InvalidTensorError(
        `X buffer holds ${X.size} bytes but ${tokens} tokens × ${this.columns} columns need ${needed}`,
      );
    }
    if (tokens === 0) return;
    const { ctx, columns } = this;
    const align = ctx.device.limits.minStorageBufferOffsetAlignment;
    const rowBytes = columns * 4;
    requireBindable(
      ctx,
      align + rowBytes,
      `one token of ${columns} floats`,
      'this layer is too wide for this GPU',
    );
    // Windows of whole tokens, each bound from an aligned offset at or before its first token.
    const perWindow = Math.floor((bindingLimit(ctx) - align) / rowBytes);
    const recorder = new CommandRecorder(ctx, 'input norms');
    const pipeline = computePipeline(ctx, shader);
    for (let token0 = 0; token0 < tokens; token0 += perWindow) {
      const count = Math.min(perWindow, tokens - token0);
      const byteStart = (xOffsetFloats + token0 * columns) * 4;
      const offset = Math.floor(byteStart / align) * align;
      const size = Math.min(X.size - offset, byteStart - offset + count * rowBytes);
      const params = recorder.params([columns, count, (byteStart - offset) / 4]);
      recorder.dispatch(pipeline, [{ buffer: X, offset, size }, this.sums, params], Math.ceil(columns / 64));
    }
    recorder.submit();
    recorder.destroy();
    this.seen += tokens;
  }

  /** ‖X_j‖ over every token added (float64 for the scores' sums). */
  async norms(): Promise<Float64Array> {
    const sums = await readFloat32(this.ctx, this.sums, this.columns);
    return Float64Array.from(sums, (s) => Math.sqrt(s));
  }

  destroy(): void {
    this.sums.destroy();
  }
}

/**
 * Host for shaders/solver/hessian_accumulate.wgsl: the running H = 2/N · Σ xxᵀ of one linear layer's inputs, fed straight
 * from the GPU buffers the forward pass captures (no readback), in any number of token batches.
 */
import shader from '../../../shaders/solver/hessian_accumulate.wgsl?raw';
import { uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { bindingLimit, itemsPerBinding, requireBindable } from '../gpu/limits';
import { computePipeline } from '../gpu/pipelines';
import { CommandRecorder, f32 } from '../gpu/recorder';
import { SplitMatrix, TILED } from '../gpu/split-matrix';
import { selectVariant } from '../gpu/wgsl-variants';
import { InvalidSettingError, InvalidTensorError } from './errors';

export class HessianAccumulator {
  /** H, upper triangle (the lower one is not maintained), split into parts each bindable on its own. */
  readonly H: SplitMatrix;
  private seen = 0;
  private destroyed = false;

  constructor(
    private readonly ctx: GpuContext,
    readonly columns: number,
  ) {
    if (!Number.isInteger(columns) || columns < 1) {
      throw new InvalidSettingError('Hessian columns', columns, 'a positive whole number');
    }
    this.H = SplitMatrix.allocate(ctx, columns, columns, 'hessian', TILED);
    // Fresh buffers are zero-filled by WebGPU, so the first add's α = 0 · H is exact.
  }

  /** Calibration tokens accumulated so far (N). */
  get tokens(): number {
    return this.seen;
  }

  /**
   * Adds `tokens` rows of X (row-major f32 [tokens, columns], starting xOffsetFloats into the buffer). Only
   * records and submits GPU work; the buffer may be reused once the queue has run it.
   */
  add(X: GPUBuffer, tokens: number, xOffsetFloats = 0): void {
    this.checkAlive();
    if (!Number.isInteger(tokens) || tokens < 0) {
      throw new InvalidSettingError('token count', tokens, 'a whole number ≥ 0');
    }
    if (!Number.isInteger(xOffsetFloats) || xOffsetFloats < 0) {
      throw new InvalidSettingError('X offset', xOffsetFloats, 'a whole number of floats ≥ 0');
    }
    const needed = (xOffsetFloats + tokens * this.columns) * 4;
    if (X.size < needed) {
      throw new InvalidTensorError(
        `X buffer holds ${X.size} bytes but ${tokens} tokens × ${this.columns} columns from float ` +
          `${xOffsetFloats} need ${needed}`,
      );
    }
    if (tokens === 0) return;
    const total = this.seen + tokens;
    const alpha = this.seen / total;
    const beta = 2 / total;
    const recorder = new CommandRecorder(this.ctx, 'hessian');
    const align = this.ctx.device.limits.minStorageBufferOffsetAlignment;
    const rowBytes = this.columns * 4;
    requireBindable(
      this.ctx,
      align + rowBytes,
      `one token of ${this.columns} floats (read from an aligned offset)`,
      'this layer is too wide for this GPU',
    );
    const perWindow = Math.floor((bindingLimit(this.ctx) - align) / rowBytes);
    // vec4 reads need every window row to start on a multiple of 4 floats from the window start (which is aligned).
    const vec4Rows = this.columns % 4 === 0 && xOffsetFloats % 4 === 0;
    const pipeline = computePipeline(this.ctx, selectVariant(shader, { VEC4_ROWS: vec4Rows }));
    let first = true;
    for (let token0 = 0; token0 < tokens; token0 += perWindow) {
      const count = Math.min(perWindow, tokens - token0);
      const byteStart = (xOffsetFloats + token0 * this.columns) * 4;
      const offset = Math.floor(byteStart / align) * align;
      const size = Math.min(X.size - offset, Math.ceil((byteStart - offset + count * rowBytes) / 4) * 4);
      const window: GPUBufferBinding = { buffer: X, offset, size };
      for (const part of this.H.parts) {
        const params = recorder.params([
          this.columns,
          count,
          (byteStart - offset) / 4,
          part.firstRow,
          part.rows,
          f32(first ? alpha : 1),
          f32(beta),
        ]);
        recorder.dispatch(
          pipeline,
          [window, part.buffer, params],
          Math.ceil(this.columns / 32),
          Math.ceil(part.rows / 32),
        );
      }
      first = false;
    }
    recorder.submit();
    recorder.destroy();
    this.seen = total;
  }

  /** Convenience for tests and the CLI: uploads X (row-major [tokens, columns]) in bindable pieces and adds it. */
  addFromArray(X: Float32Array, tokens: number): void {
    this.checkAlive();
    if (X.length < tokens * this.columns) {
      throw new InvalidTensorError(
        `X has ${X.length} values but ${tokens} tokens × ${this.columns} columns need ${tokens * this.columns}`,
      );
    }
    for (let i = 0; i < tokens * this.columns; i++) {
      if (!Number.isFinite(X[i])) {
        const token = Math.floor(i / this.columns);
        throw new InvalidTensorError(`X[${token}, ${i % this.columns}] is ${X[i]}: inputs must be finite`);
      }
    }
    const perPiece = Math.max(1, itemsPerBinding(this.ctx, this.columns * 4));
    for (let token0 = 0; token0 < tokens; token0 += perPiece) {
      const count = Math.min(perPiece, tokens - token0);
      const buffer = uploadFloat32(
        this.ctx,
        X.subarray(token0 * this.columns, (token0 + count) * this.columns),
        'hessian.X',
      );
      this.add(buffer, count);
      buffer.destroy();
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.H.destroy();
  }

  private checkAlive(): void {
    if (this.destroyed) throw new Error('HessianAccumulator used after destroy()');
  }
}

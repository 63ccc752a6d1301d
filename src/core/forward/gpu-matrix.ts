/**
 * A row-major f32 matrix on the GPU, split by rows into buffers that each fit one storage binding. Weight
 * matrices (an LM head of 150k × 4096 is 2.4 GB) and fused projections can exceed the binding limit (128 MiB by
 * default on real GPUs); every kernel that reads weights works shard by shard, so nothing here assumes one buffer.
 * The hidden states of a chunk of sequences and a block's attention output are held the same way, split by token
 * ranges (one Llama-70B sequence of 8192 tokens is 256 MiB of hidden states).
 */
import { bindingLimit, createStorageBuffer } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { ForwardMemoryError, mebibytes } from './limits';

export interface MatrixShard {
  buffer: GPUBuffer;
  /** First matrix row held by this shard. */
  rowStart: number;
  rows: number;
}

export class GpuMatrix {
  private constructor(
    readonly ctx: GpuContext,
    readonly rows: number,
    readonly cols: number,
    readonly label: string,
    readonly shards: MatrixShard[],
  ) {}

  /**
   * `maxRowsPerShard` caps the shards below what one binding holds, so that matrices of different widths over the
   * same tokens (hidden states, attention output) can share their shard boundaries.
   */
  static allocate(
    ctx: GpuContext,
    rows: number,
    cols: number,
    label: string,
    maxRowsPerShard = Number.POSITIVE_INFINITY,
  ): GpuMatrix {
    const perShard = Math.min(rowsPerShard(ctx, cols, label), maxRowsPerShard);
    if (!(perShard >= 1)) throw new RangeError(`${label}: shards need at least one row, got ${perShard}`);
    const shards: MatrixShard[] = [];
    for (let rowStart = 0; rowStart < rows; rowStart += perShard) {
      const count = Math.min(perShard, rows - rowStart);
      const buffer = createStorageBuffer(ctx, count * cols * 4, `${label}[${rowStart}..${rowStart + count})`);
      shards.push({ buffer, rowStart, rows: count });
    }
    return new GpuMatrix(ctx, rows, cols, label, shards);
  }

  /**
   * The first `rows` rows of one buffer the caller owns, as a one-shard matrix: how a plain buffer goes where a
   * split matrix is taken. Destroying the view destroys the buffer.
   */
  static over(ctx: GpuContext, buffer: GPUBuffer, rows: number, cols: number, label: string): GpuMatrix {
    if (buffer.size < rows * cols * 4) {
      throw new RangeError(
        `${label}: the buffer has ${buffer.size} bytes, ${rows}×${cols} floats need ${rows * cols * 4}`,
      );
    }
    return new GpuMatrix(ctx, rows, cols, label, [{ buffer, rowStart: 0, rows }]);
  }

  /**
   * At least `rows` rows of `cols` floats, held either as one buffer (viewed as a one-shard matrix) or already as a
   * matrix that may be split by rows: how the forward takes hidden states from callers that hold them either way.
   */
  static rowsOf(
    ctx: GpuContext,
    states: GPUBuffer | GpuMatrix,
    rows: number,
    cols: number,
    what: string,
  ): GpuMatrix {
    if (states instanceof GpuMatrix) {
      if (states.cols !== cols || states.rows < rows) {
        throw new RangeError(`${what}: ${states.rows}×${states.cols} floats, ${rows}×${cols} needed`);
      }
      return states;
    }
    if (states.size < rows * cols * 4) {
      throw new RangeError(
        `${what}: the buffer has ${states.size} bytes, ${rows}×${cols} floats need ${rows * cols * 4}`,
      );
    }
    return GpuMatrix.over(ctx, states, rows, cols, what);
  }

  static upload(ctx: GpuContext, data: Float32Array, rows: number, cols: number, label: string): GpuMatrix {
    if (data.length !== rows * cols) {
      throw new RangeError(`${label}: expected ${rows}×${cols} = ${rows * cols} values, got ${data.length}`);
    }
    const matrix = GpuMatrix.allocate(ctx, rows, cols, label);
    matrix.write(0, data);
    return matrix;
  }

  /** Overwrites rows [rowStart, rowStart + data.length / cols) from host memory. */
  write(rowStart: number, data: Float32Array): void {
    const count = this.checkRows(rowStart, data.length);
    for (const [shard, from, to] of this.overlaps(rowStart, count)) {
      const source = data.subarray((from - rowStart) * this.cols, (to - rowStart) * this.cols);
      this.ctx.device.queue.writeBuffer(
        shard.buffer,
        (from - shard.rowStart) * this.cols * 4,
        source.buffer,
        source.byteOffset,
        source.byteLength,
      );
    }
  }

  /** Encodes copies of `rows` rows of a row-major GPU buffer (same width) into rows [rowStart, …). */
  copyFrom(encoder: GPUCommandEncoder, rowStart: number, source: GPUBuffer, rows: number): void {
    this.checkRows(rowStart, rows * this.cols);
    const rowBytes = this.cols * 4;
    if (source.size < rows * rowBytes) {
      throw new RangeError(
        `${this.label}: the source buffer holds ${source.size} bytes, ${rows} rows need ${rows * rowBytes}`,
      );
    }
    for (const [shard, from, to] of this.overlaps(rowStart, rows)) {
      encoder.copyBufferToBuffer(
        source,
        (from - rowStart) * rowBytes,
        shard.buffer,
        (from - shard.rowStart) * rowBytes,
        (to - from) * rowBytes,
      );
    }
  }

  /** The shards' parts that cover rows [rowStart, rowStart + count): [shard, firstRow, endRow) in matrix rows. */
  overlaps(rowStart: number, count: number): Array<[MatrixShard, number, number]> {
    const parts: Array<[MatrixShard, number, number]> = [];
    for (const shard of this.shards) {
      const from = Math.max(rowStart, shard.rowStart);
      const to = Math.min(rowStart + count, shard.rowStart + shard.rows);
      if (from < to) parts.push([shard, from, to]);
    }
    return parts;
  }

  /**
   * The shard that holds all of rows [rowStart, rowStart + count), and where they start in it. Work split into
   * slices that never straddle two shards (see BlockRunner) reads and writes each slice in one binding; a slice
   * that does straddle is a bug, and throws.
   */
  rowsAt(rowStart: number, count: number): { buffer: GPUBuffer; row: number } {
    const parts = this.overlaps(rowStart, count);
    const [shard, from, to] = parts[0] ?? [];
    if (parts.length !== 1 || !shard || from !== rowStart || to !== rowStart + count) {
      throw new RangeError(`${this.label}: rows [${rowStart}, ${rowStart + count}) are not inside one shard`);
    }
    return { buffer: shard.buffer, row: rowStart - shard.rowStart };
  }

  /** True when this matrix and `other` share a buffer. */
  sharesBufferWith(other: GpuMatrix): boolean {
    const mine = new Set(this.shards.map((s) => s.buffer));
    return other.shards.some((s) => mine.has(s.buffer));
  }

  destroy(): void {
    for (const shard of this.shards) shard.buffer.destroy();
  }

  private checkRows(rowStart: number, values: number): number {
    const count = values / this.cols;
    if (!Number.isInteger(count) || rowStart < 0 || rowStart + count > this.rows) {
      throw new RangeError(
        `${this.label}: cannot write ${values} values at row ${rowStart} of a ${this.rows}×${this.cols} matrix`,
      );
    }
    return count;
  }
}

export function rowsPerShard(ctx: GpuContext, cols: number, label: string): number {
  const rowBytes = cols * 4;
  const rows = Math.floor(bindingLimit(ctx) / rowBytes);
  if (rows < 1) {
    throw new ForwardMemoryError(
      `${label}: one row of ${cols} floats (${mebibytes(rowBytes)}) exceeds this GPU's storage binding limit of ` +
        `${mebibytes(bindingLimit(ctx))}`,
    );
  }
  return rows;
}

/**
 * A row-major f32 matrix on the GPU, split by rows into parts that each fit one storage binding. Weights (an LM
 * head of 150k × 4096 is 2.4 GB), a wide layer's Hessian (485 MB at 11008 columns) and a long sequence's hidden
 * states (256 MiB for one Llama-70B sequence of 8192 tokens) exceed the binding limit (128 MiB by default on real
 * GPUs), so every kernel that takes a matrix works part by part. Rows are packed (row stride = column count), so
 * row ranges move with plain buffer copies. Where the solver binds tiles of TILE_ROWS rows, parts hold a multiple
 * of TILE_ROWS rows (all but the last), so that no tile straddles two buffers.
 */
import { createStorageBuffer, readFloat32 } from './buffers';
import type { GpuContext } from './context';
import { type RowLayout, rowsPerPart } from './limits';

/** Tile edge of the solver's kernels (and its Cholesky block): parts of H, U and W start on multiples of it. */
export const TILE_ROWS = 64;

/** Parts of the solver's H and U: tiles never straddle two buffers. */
export const TILED: RowLayout = { rowAlign: TILE_ROWS, alignRequired: true };

/** One buffer of a split matrix: rows [firstRow, firstRow + rows) of the matrix, from the buffer's start. */
export interface MatrixPart {
  buffer: GPUBuffer;
  firstRow: number;
  rows: number;
}

export interface SplitOptions extends RowLayout {
  /**
   * Caps the rows per part below what one binding holds, so that matrices of different widths over the same
   * tokens (hidden states, attention output) share their part boundaries.
   */
  maxRowsPerPart?: number;
}

export class SplitMatrix {
  private constructor(
    readonly ctx: GpuContext,
    readonly rows: number,
    readonly cols: number,
    readonly label: string,
    readonly parts: MatrixPart[],
  ) {}

  static allocate(
    ctx: GpuContext,
    rows: number,
    cols: number,
    label: string,
    options: SplitOptions = {},
  ): SplitMatrix {
    const perPart = Math.min(rowsPerPart(ctx, rows, cols, label, options), options.maxRowsPerPart ?? rows);
    if (!(perPart >= 1) && rows > 0) throw new RangeError(`${label}: parts need at least one row`);
    const parts: MatrixPart[] = [];
    for (let firstRow = 0; firstRow < rows; firstRow += perPart) {
      const count = Math.min(perPart, rows - firstRow);
      const buffer = createStorageBuffer(ctx, count * cols * 4, `${label}[${firstRow}..${firstRow + count})`);
      parts.push({ buffer, firstRow, rows: count });
    }
    return new SplitMatrix(ctx, rows, cols, label, parts);
  }

  static upload(
    ctx: GpuContext,
    data: Float32Array,
    rows: number,
    cols: number,
    label: string,
    options: SplitOptions = {},
  ): SplitMatrix {
    if (data.length !== rows * cols) {
      throw new RangeError(`${label}: expected ${rows}×${cols} = ${rows * cols} values, got ${data.length}`);
    }
    const matrix = SplitMatrix.allocate(ctx, rows, cols, label, options);
    matrix.write(0, data);
    return matrix;
  }

  /** A new matrix with the same parts as this one (for a copy that kernels pair part by part with this). */
  allocateLike(label: string): SplitMatrix {
    const parts = this.parts.map((part) => ({
      buffer: createStorageBuffer(this.ctx, part.rows * this.cols * 4, `${label}[${part.firstRow}..)`),
      firstRow: part.firstRow,
      rows: part.rows,
    }));
    return new SplitMatrix(this.ctx, this.rows, this.cols, label, parts);
  }

  /**
   * Matrices stacked by rows into one (the fused q|k|v weight of its q, k and v), sharing their buffers: destroying
   * the stack destroys theirs.
   */
  static stack(ctx: GpuContext, matrices: SplitMatrix[], label: string): SplitMatrix {
    const cols = matrices[0].cols;
    const parts: MatrixPart[] = [];
    let rows = 0;
    for (const matrix of matrices) {
      if (matrix.cols !== cols) throw new RangeError(`${label}: stacked matrices differ in width`);
      for (const part of matrix.parts) parts.push({ ...part, firstRow: rows + part.firstRow });
      rows += matrix.rows;
    }
    return new SplitMatrix(ctx, rows, cols, label, parts);
  }

  /**
   * The first `rows` rows of one buffer the caller owns, as a one-part matrix: how a plain buffer goes where a
   * split matrix is taken. Destroying the view destroys the buffer.
   */
  static over(ctx: GpuContext, buffer: GPUBuffer, rows: number, cols: number, label: string): SplitMatrix {
    if (buffer.size < rows * cols * 4) {
      throw new RangeError(
        `${label}: the buffer has ${buffer.size} bytes, ${rows}×${cols} floats need ${rows * cols * 4}`,
      );
    }
    return new SplitMatrix(ctx, rows, cols, label, [{ buffer, firstRow: 0, rows }]);
  }

  /**
   * At least `rows` rows of `cols` floats, held either as one buffer (viewed as a one-part matrix) or already as a
   * split matrix: how the forward takes hidden states from callers that hold them either way.
   */
  static rowsOf(
    ctx: GpuContext,
    states: GPUBuffer | SplitMatrix,
    rows: number,
    cols: number,
    what: string,
  ): SplitMatrix {
    if (states instanceof SplitMatrix) {
      if (states.cols !== cols || states.rows < rows) {
        throw new RangeError(`${what}: ${states.rows}×${states.cols} floats, ${rows}×${cols} needed`);
      }
      return states;
    }
    return SplitMatrix.over(ctx, states, rows, cols, what);
  }

  /** Overwrites rows [firstRow, firstRow + data.length / cols) from host memory. */
  write(firstRow: number, data: Float32Array): void {
    const count = this.checkRows(firstRow, data.length);
    for (const [part, from, to] of this.overlaps(firstRow, count)) {
      const source = data.subarray((from - firstRow) * this.cols, (to - firstRow) * this.cols);
      this.ctx.device.queue.writeBuffer(
        part.buffer,
        (from - part.firstRow) * this.cols * 4,
        source.buffer,
        source.byteOffset,
        source.byteLength,
      );
    }
  }

  /** The whole matrix, copied to the CPU (one readback per part). */
  async read(): Promise<Float32Array> {
    const out = new Float32Array(this.rows * this.cols);
    for (const part of this.parts) {
      if (part.rows === 0) continue;
      out.set(await readFloat32(this.ctx, part.buffer, part.rows * this.cols), part.firstRow * this.cols);
    }
    return out;
  }

  /**
   * Encodes copies of `rows` rows of a row-major GPU buffer of the same width, starting `sourceOffsetFloats` into
   * it, into rows [firstRow, …).
   */
  copyRowsFrom(
    encoder: GPUCommandEncoder,
    firstRow: number,
    source: GPUBuffer,
    rows: number,
    sourceOffsetFloats = 0,
  ): void {
    this.checkRows(firstRow, rows * this.cols);
    const rowBytes = this.cols * 4;
    if (source.size < sourceOffsetFloats * 4 + rows * rowBytes) {
      throw new RangeError(
        `${this.label}: the source buffer holds ${source.size} bytes, ${rows} rows need ${rows * rowBytes}`,
      );
    }
    for (const [part, from, to] of this.overlaps(firstRow, rows)) {
      encoder.copyBufferToBuffer(
        source,
        sourceOffsetFloats * 4 + (from - firstRow) * rowBytes,
        part.buffer,
        (from - part.firstRow) * rowBytes,
        (to - from) * rowBytes,
      );
    }
  }

  /**
   * Encodes a copy of rows [firstRow, firstRow + count) to the start of `target`, whose rows are `targetStride`
   * floats apart (default: packed).
   */
  copyRowsTo(
    encoder: GPUCommandEncoder,
    firstRow: number,
    count: number,
    target: GPUBuffer,
    targetStride = this.cols,
  ): void {
    const rowBytes = this.cols * 4;
    for (const [part, from, to] of this.overlaps(firstRow, count)) {
      const source = (from - part.firstRow) * rowBytes;
      if (targetStride === this.cols) {
        encoder.copyBufferToBuffer(
          part.buffer,
          source,
          target,
          (from - firstRow) * rowBytes,
          (to - from) * rowBytes,
        );
        continue;
      }
      for (let row = from; row < to; row++) {
        const offset = source + (row - from) * rowBytes;
        encoder.copyBufferToBuffer(
          part.buffer,
          offset,
          target,
          (row - firstRow) * targetStride * 4,
          rowBytes,
        );
      }
    }
  }

  /** Encodes a copy of the whole matrix into `target` (same shape, any parts). */
  copyTo(encoder: GPUCommandEncoder, target: SplitMatrix): void {
    if (target.rows !== this.rows || target.cols !== this.cols) {
      throw new RangeError(
        `${this.label}: cannot copy ${this.rows}×${this.cols} into ${target.rows}×${target.cols}`,
      );
    }
    for (const part of this.parts) {
      target.copyRowsFrom(encoder, part.firstRow, part.buffer, part.rows);
    }
  }

  /** The parts that cover rows [firstRow, firstRow + count): [part, first row, end row) in matrix rows. */
  overlaps(firstRow: number, count: number): Array<[MatrixPart, number, number]> {
    const found: Array<[MatrixPart, number, number]> = [];
    for (const part of this.parts) {
      const from = Math.max(firstRow, part.firstRow);
      const to = Math.min(firstRow + count, part.firstRow + part.rows);
      if (from < to) found.push([part, from, to]);
    }
    return found;
  }

  /** The part that holds row `row`. */
  partHolding(row: number): MatrixPart {
    const [found] = this.overlaps(row, 1);
    if (!found) throw new RangeError(`${this.label}: row ${row} is outside ${this.rows} rows`);
    return found[0];
  }

  /**
   * The part that holds all of rows [firstRow, firstRow + count), and where they start in it. Work split into
   * token slices that never straddle two parts reads and writes each slice in one binding; a slice that does
   * straddle is a bug, and throws.
   */
  rowsAt(firstRow: number, count: number): { buffer: GPUBuffer; row: number } {
    const found = this.overlaps(firstRow, count);
    const [part, from, to] = found[0] ?? [];
    if (found.length !== 1 || !part || from !== firstRow || to !== firstRow + count) {
      throw new RangeError(`${this.label}: rows [${firstRow}, ${firstRow + count}) are not inside one part`);
    }
    return { buffer: part.buffer, row: firstRow - part.firstRow };
  }

  /** True when this matrix and `other` share a buffer. */
  sharesBufferWith(other: SplitMatrix): boolean {
    const mine = new Set(this.parts.map((p) => p.buffer));
    return other.parts.some((p) => mine.has(p.buffer));
  }

  destroy(): void {
    for (const part of this.parts) part.buffer.destroy();
  }

  private checkRows(firstRow: number, values: number): number {
    const count = values / this.cols;
    if (!Number.isInteger(count) || firstRow < 0 || firstRow + count > this.rows) {
      throw new RangeError(
        `${this.label}: cannot write ${values} values at row ${firstRow} of a ${this.rows}×${this.cols} matrix`,
      );
    }
    return count;
  }
}

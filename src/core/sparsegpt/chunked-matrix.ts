/**
 * A row-major f32 matrix kept on the GPU as consecutive row ranges in separate buffers, each small enough to be
 * bound whole (ctx.limits.maxStorageBufferBindingSize: 128 MiB by default on real GPUs, while H of an 11008-wide
 * layer alone is 485 MB). Every chunk but the last holds a multiple of ROW_ALIGN rows, so the 64×64 tiles of the
 * solver kernels never straddle two buffers. Row stride is the column count (no padding), so whole row ranges
 * move with plain buffer copies.
 */
import { bindingLimit, createStorageBuffer, readFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { InvalidTensorError } from './errors';

/** Tile edge of every solver kernel (and the Cholesky block size): chunk boundaries fall on multiples of it. */
export const ROW_ALIGN = 64;

export interface MatrixChunk {
  buffer: GPUBuffer;
  firstRow: number;
  rows: number;
}

export interface ChunkedMatrix {
  rows: number;
  cols: number;
  rowsPerChunk: number;
  chunks: MatrixChunk[];
}

/** Largest number of whole bytes a solver kernel may bind at once on this context. */

export function rowsPerChunkFor(ctx: GpuContext, rows: number, cols: number, label: string): number {
  const rowBytes = Math.max(1, cols) * 4;
  const fitting = Math.floor(bindingLimit(ctx) / rowBytes);
  if (fitting >= rows) return Math.max(rows, 1);
  const aligned = Math.floor(fitting / ROW_ALIGN) * ROW_ALIGN;
  if (aligned < ROW_ALIGN) {
    throw new RangeError(
      `${label}: ${ROW_ALIGN} rows of ${cols} floats (${ROW_ALIGN * rowBytes} bytes) exceed this GPU's ` +
        `storage binding limit of ${bindingLimit(ctx)} bytes`,
    );
  }
  return aligned;
}

export function createChunkedMatrix(
  ctx: GpuContext,
  rows: number,
  cols: number,
  label: string,
): ChunkedMatrix {
  const rowsPerChunk = rowsPerChunkFor(ctx, rows, cols, label);
  const chunks: MatrixChunk[] = [];
  for (let firstRow = 0; firstRow < rows || chunks.length === 0; firstRow += rowsPerChunk) {
    const count = Math.min(rowsPerChunk, rows - firstRow);
    const buffer = createStorageBuffer(ctx, count * cols * 4, `${label}[${chunks.length}]`);
    chunks.push({ buffer, firstRow, rows: Math.max(count, 0) });
  }
  return { rows, cols, rowsPerChunk, chunks };
}

export function uploadChunkedMatrix(
  ctx: GpuContext,
  data: Float32Array,
  rows: number,
  cols: number,
  label: string,
): ChunkedMatrix {
  if (data.length !== rows * cols) {
    throw new InvalidTensorError(
      `${label} has ${data.length} values but [${rows}, ${cols}] needs ${rows * cols}`,
    );
  }
  const matrix = createChunkedMatrix(ctx, rows, cols, label);
  for (const chunk of matrix.chunks) {
    const start = chunk.firstRow * cols;
    const part = data.subarray(start, start + chunk.rows * cols);
    ctx.device.queue.writeBuffer(chunk.buffer, 0, part.buffer, part.byteOffset, part.byteLength);
  }
  return matrix;
}

export async function readChunkedMatrix(ctx: GpuContext, matrix: ChunkedMatrix): Promise<Float32Array> {
  const out = new Float32Array(matrix.rows * matrix.cols);
  for (const chunk of matrix.chunks) {
    if (chunk.rows === 0) continue;
    out.set(await readFloat32(ctx, chunk.buffer, chunk.rows * matrix.cols), chunk.firstRow * matrix.cols);
  }
  return out;
}

/** Copies rows [firstRow, firstRow + count) of `source` (one buffer, rows packed from offsetFloats) into `target`. */
export function copyRowsIntoChunks(
  encoder: GPUCommandEncoder,
  source: GPUBuffer,
  offsetFloats: number,
  target: ChunkedMatrix,
): void {
  for (const chunk of target.chunks) {
    const bytes = chunk.rows * target.cols * 4;
    if (bytes === 0) continue;
    encoder.copyBufferToBuffer(
      source,
      (offsetFloats + chunk.firstRow * target.cols) * 4,
      chunk.buffer,
      0,
      bytes,
    );
  }
}

/** The inverse of copyRowsIntoChunks: the whole matrix into one packed buffer. */
export function copyChunksIntoBuffer(
  encoder: GPUCommandEncoder,
  source: ChunkedMatrix,
  target: GPUBuffer,
): void {
  for (const chunk of source.chunks) {
    const bytes = chunk.rows * source.cols * 4;
    if (bytes > 0)
      encoder.copyBufferToBuffer(chunk.buffer, 0, target, chunk.firstRow * source.cols * 4, bytes);
  }
}

export function copyChunkedMatrix(
  encoder: GPUCommandEncoder,
  source: ChunkedMatrix,
  target: ChunkedMatrix,
): void {
  if (
    source.rows !== target.rows ||
    source.cols !== target.cols ||
    source.rowsPerChunk !== target.rowsPerChunk
  ) {
    throw new RangeError('copyChunkedMatrix: matrices differ in shape or chunking');
  }
  source.chunks.forEach((chunk, i) => {
    const bytes = chunk.rows * source.cols * 4;
    if (bytes > 0) encoder.copyBufferToBuffer(chunk.buffer, 0, target.chunks[i].buffer, 0, bytes);
  });
}

/** Copies the contiguous rows [firstRow, firstRow + count) of a chunked matrix to the start of `target`. */
export function copyRowRange(
  encoder: GPUCommandEncoder,
  source: ChunkedMatrix,
  firstRow: number,
  count: number,
  target: GPUBuffer,
): void {
  const end = firstRow + count;
  for (const chunk of source.chunks) {
    const from = Math.max(firstRow, chunk.firstRow);
    const to = Math.min(end, chunk.firstRow + chunk.rows);
    if (to <= from) continue;
    encoder.copyBufferToBuffer(
      chunk.buffer,
      (from - chunk.firstRow) * source.cols * 4,
      target,
      (from - firstRow) * source.cols * 4,
      (to - from) * source.cols * 4,
    );
  }
}

/** The chunk that holds global row `row`. */
export function chunkHolding(matrix: ChunkedMatrix, row: number): MatrixChunk {
  return matrix.chunks[Math.floor(row / matrix.rowsPerChunk)];
}

/** Like copyRowRange, into a target whose rows are `targetStride` floats apart (≥ source.cols). */
export function copyRowRangeStrided(
  encoder: GPUCommandEncoder,
  source: ChunkedMatrix,
  firstRow: number,
  count: number,
  target: GPUBuffer,
  targetStride: number,
): void {
  if (targetStride === source.cols) {
    copyRowRange(encoder, source, firstRow, count, target);
    return;
  }
  for (let row = firstRow; row < firstRow + count; row++) {
    const chunk = chunkHolding(source, row);
    const bytes = source.cols * 4;
    encoder.copyBufferToBuffer(
      chunk.buffer,
      (row - chunk.firstRow) * bytes,
      target,
      (row - firstRow) * targetStride * 4,
      bytes,
    );
  }
}

export function destroyChunkedMatrix(matrix: ChunkedMatrix): void {
  for (const chunk of matrix.chunks) chunk.buffer.destroy();
}

/** Host for shaders/lazy_batch_update.wgsl: W[:, blockEnd:] −= Err · U[block, blockEnd:], per W chunk. */
import shader from '../../../shaders/lazy_batch_update.wgsl?raw';
import { readFloat32, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { computePipeline, withErrorScope } from '../gpu/pipelines';
import { padColumns } from '../kernels/matmul';
import { type MatrixChunk, uploadChunkedMatrix } from './chunked-matrix';
import { bindResources, dispatchIn, GpuRun } from './gpu-run';

export interface LazyUpdateBlock {
  columns: number;
  blockStart: number;
  blockCount: number;
  /** Row stride of Err, a multiple of 4 ≥ blockCount; Err is zero in the padding columns. */
  errStride: number;
  /** U rows [blockStart, blockStart + blockCount), row stride panelStride (a multiple of 4 ≥ columns), with at
   * least errStride rows: rows past blockCount and columns past `columns` are finite padding. */
  uPanel: GPUBuffer;
  panelStride: number;
}

/**
 * Layout of the block scratch that the walk writes and the lazy update reads as vec4: row strides that are
 * multiples of 4, and U panel rows up to a multiple of the walk's widest sub-block (32), which it reads as padding.
 */
export function blockScratchStrides(columns: number, blockSize: number) {
  const roundUp = (value: number, step: number) => Math.ceil(value / step) * step;
  const blockColumns = Math.min(blockSize, columns);
  return {
    errStride: roundUp(blockColumns, 4),
    panelStride: roundUp(columns, 4),
    panelRows: roundUp(blockColumns, 32),
  };
}

export function encodeLazyBatchUpdate(
  ctx: GpuContext,
  run: GpuRun,
  pass: GPUComputePassEncoder,
  chunk: MatrixChunk,
  err: GPUBuffer,
  block: LazyUpdateBlock,
): void {
  const blockEnd = block.blockStart + block.blockCount;
  if (blockEnd >= block.columns || chunk.rows === 0) return;
  const pipeline = computePipeline(ctx, shader);
  const slot = run.params.slot([
    block.columns,
    chunk.rows,
    blockEnd,
    block.blockCount,
    block.errStride / 4,
    block.panelStride / 4,
  ]);
  const vec4Columns = Math.ceil(block.columns / 4) - Math.floor(blockEnd / 4);
  dispatchIn(
    pass,
    pipeline,
    bindResources(ctx, pipeline, [chunk.buffer, err, block.uPanel, slot]),
    Math.ceil(vec4Columns / 8),
    Math.ceil(chunk.rows / 32),
  );
}

/**
 * The lazy update on its own, for its kernel test: W [rows, columns], Err [rows, blockCount] and the U rows of
 * the block [blockCount, columns] from the CPU; returns the updated W.
 */
export async function lazyBatchUpdate(
  ctx: GpuContext,
  W: Float32Array,
  rows: number,
  columns: number,
  err: Float32Array,
  uRows: Float32Array,
  blockStart: number,
  blockCount: number,
): Promise<Float32Array> {
  return withErrorScope(ctx, 'lazy batch update', async () => {
    const matrix = uploadChunkedMatrix(ctx, W, rows, columns, 'W');
    const run = new GpuRun(ctx, 'lazyBatchUpdate');
    const { errStride, panelStride, panelRows } = blockScratchStrides(columns, blockCount);
    const paddedPanel = new Float32Array(panelRows * panelStride);
    paddedPanel.set(padColumns(uRows, blockCount, columns, panelStride));
    const uPanel = uploadFloat32(ctx, paddedPanel, 'uPanel');
    const errBuffers = matrix.chunks.map((chunk) => {
      const rowsOfChunk = err.subarray(
        chunk.firstRow * blockCount,
        (chunk.firstRow + chunk.rows) * blockCount,
      );
      return uploadFloat32(ctx, padColumns(rowsOfChunk, chunk.rows, blockCount, errStride), 'err');
    });
    const block = { columns, blockStart, blockCount, errStride, uPanel, panelStride };
    await run.pass('lazyUpdate', (pass) => {
      matrix.chunks.forEach((chunk, i) => {
        encodeLazyBatchUpdate(ctx, run, pass, chunk, errBuffers[i], block);
      });
    });
    await run.finish();
    run.destroy();
    const out = new Float32Array(rows * columns);
    for (const chunk of matrix.chunks) {
      out.set(await readFloat32(ctx, chunk.buffer, chunk.rows * columns), chunk.firstRow * columns);
      chunk.buffer.destroy();
    }
    uPanel.destroy();
    for (const buffer of errBuffers) buffer.destroy();
    return out;
  });
}

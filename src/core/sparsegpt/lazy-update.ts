/** Host for shaders/lazy_batch_update.wgsl: W[:, blockEnd:] −= Err · U[block, blockEnd:], per W chunk. */
import shader from '../../../shaders/lazy_batch_update.wgsl?raw';
import { readFloat32, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { computePipeline, withErrorScope } from '../gpu/pipelines';
import { type MatrixChunk, ROW_ALIGN, uploadChunkedMatrix } from './chunked-matrix';
import { bindResources, dispatchIn, GpuRun } from './gpu-run';

export interface LazyUpdateBlock {
  columns: number;
  blockStart: number;
  blockCount: number;
  /** Row stride of Err (the block size the Err scratch was made for). */
  errStride: number;
  /** U rows [blockStart, blockStart + blockCount), full width. */
  uPanel: GPUBuffer;
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
  const slot = run.params.slot([block.columns, chunk.rows, blockEnd, block.blockCount, block.errStride]);
  dispatchIn(
    pass,
    pipeline,
    bindResources(ctx, pipeline, [chunk.buffer, err, block.uPanel, slot]),
    Math.ceil((block.columns - blockEnd) / ROW_ALIGN),
    Math.ceil(chunk.rows / ROW_ALIGN),
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
    const uPanel = uploadFloat32(ctx, uRows, 'uPanel');
    const errBuffers = matrix.chunks.map((chunk) =>
      uploadFloat32(
        ctx,
        err.subarray(chunk.firstRow * blockCount, (chunk.firstRow + chunk.rows) * blockCount),
        'err',
      ),
    );
    const block = { columns, blockStart, blockCount, errStride: blockCount, uPanel };
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

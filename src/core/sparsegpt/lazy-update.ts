/**
 * Host for the lazy batch update, W[:, blockEnd:] −= Err · U[block, blockEnd:], per part of W, in the form of the
 * context's kernel target: shaders/solver/lazy_batch_update.wgsl (register-tiled, for CPU-backed adapters) or
 * lazy_batch_update_tiled.wgsl (a workgroup-memory GEMM, for GPUs).
 */
import shader from '../../../shaders/solver/lazy_batch_update.wgsl?raw';
import tiledShader from '../../../shaders/solver/lazy_batch_update_tiled.wgsl?raw';
import { uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { computePipeline, type PipelineSpec, withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { type MatrixPart, SplitMatrix } from '../gpu/split-matrix';
import { padColumns } from '../kernels/matmul';

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

export type LazyUpdateForm = 'register' | 'tiled';

const FORMS: Record<
  LazyUpdateForm,
  { pipeline: PipelineSpec; columns4PerGroup: number; rowsPerGroup: number }
> = {
  register: { pipeline: { code: shader }, columns4PerGroup: 8, rowsPerGroup: 32 },
  tiled: { pipeline: { code: tiledShader }, columns4PerGroup: 16, rowsPerGroup: 64 },
};

export function lazyUpdateForm(ctx: GpuContext): LazyUpdateForm {
  return ctx.kernels === 'gpu' ? 'tiled' : 'register';
}

export function lazyUpdatePipeline(ctx: GpuContext): PipelineSpec {
  return FORMS[lazyUpdateForm(ctx)].pipeline;
}

export function encodeLazyBatchUpdate(
  ctx: GpuContext,
  recorder: CommandRecorder,
  part: MatrixPart,
  err: GPUBuffer,
  block: LazyUpdateBlock,
): void {
  const blockEnd = block.blockStart + block.blockCount;
  if (blockEnd >= block.columns || part.rows === 0) return;
  const form = FORMS[lazyUpdateForm(ctx)];
  const pipeline = computePipeline(ctx, form.pipeline);
  const params = recorder.params([
    block.columns,
    part.rows,
    blockEnd,
    block.blockCount,
    block.errStride / 4,
    block.panelStride / 4,
  ]);
  const vec4Columns = Math.ceil(block.columns / 4) - Math.floor(blockEnd / 4);
  recorder.dispatch(
    pipeline,
    [part.buffer, err, block.uPanel, params],
    Math.ceil(vec4Columns / form.columns4PerGroup),
    Math.ceil(part.rows / form.rowsPerGroup),
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
    const matrix = SplitMatrix.upload(ctx, W, rows, columns, 'W');
    const recorder = new CommandRecorder(ctx, 'lazyBatchUpdate');
    const { errStride, panelStride, panelRows } = blockScratchStrides(columns, blockCount);
    const paddedPanel = new Float32Array(panelRows * panelStride);
    paddedPanel.set(padColumns(uRows, blockCount, columns, panelStride));
    const uPanel = uploadFloat32(ctx, paddedPanel, 'uPanel');
    const errBuffers = matrix.parts.map((part) => {
      const rowsOfPart = err.subarray(part.firstRow * blockCount, (part.firstRow + part.rows) * blockCount);
      return uploadFloat32(ctx, padColumns(rowsOfPart, part.rows, blockCount, errStride), 'err');
    });
    const block = { columns, blockStart, blockCount, errStride, uPanel, panelStride };
    await recorder.step('lazyUpdate', () => {
      matrix.parts.forEach((part, i) => {
        encodeLazyBatchUpdate(ctx, recorder, part, errBuffers[i], block);
      });
    });
    await recorder.finish();
    recorder.destroy();
    const out = await matrix.read();
    matrix.destroy();
    uPanel.destroy();
    for (const buffer of errBuffers) buffer.destroy();
    return out;
  });
}

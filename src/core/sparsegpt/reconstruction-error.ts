/**
 * Host for shaders/reconstruction_error.wgsl: the relative reconstruction error of a pruned layer,
 * ‖(W − Ŵ)X‖² / ‖WX‖² = tr(ΔW·H·ΔWᵀ) / tr(W·H·Wᵀ) with the undamped H, without keeping X.
 */
import shader from '../../../shaders/reconstruction_error.wgsl?raw';
import { readFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { computePipeline, withErrorScope } from '../gpu/pipelines';
import { type ChunkedMatrix, destroyChunkedMatrix, ROW_ALIGN, uploadChunkedMatrix } from './chunked-matrix';
import { bindResources, dispatchIn, GpuRun } from './gpu-run';

export interface ErrorPartials {
  /** vec2 (numerator, denominator) per workgroup. */
  buffer: GPUBuffer;
  count: number;
}

export interface ReconstructionError {
  /** tr(ΔW·H·ΔWᵀ) and tr(W·H·Wᵀ); H = 2/N·XᵀX, so these are 2/N·‖ΔW·Xᵀ‖² and 2/N·‖W·Xᵀ‖². */
  numerator: number;
  denominator: number;
  relativeError: number;
}

export function encodeReconstructionError(
  ctx: GpuContext,
  run: GpuRun,
  pass: GPUComputePassEncoder,
  original: ChunkedMatrix,
  pruned: ChunkedMatrix,
  H: ChunkedMatrix,
): ErrorPartials {
  const columns = original.cols;
  const tilesX = Math.ceil(columns / ROW_ALIGN);
  let count = 0;
  for (const chunk of original.chunks) count += tilesX * Math.ceil(chunk.rows / ROW_ALIGN) * H.chunks.length;
  const buffer = run.buffer(count * 8, 'errorPartials');
  const pipeline = computePipeline(ctx, shader);
  let base = 0;
  original.chunks.forEach((chunk, i) => {
    const tilesY = Math.ceil(chunk.rows / ROW_ALIGN);
    for (const hChunk of H.chunks) {
      const slot = run.params.slot([columns, chunk.rows, hChunk.firstRow, hChunk.rows, base]);
      const group = bindResources(ctx, pipeline, [
        chunk.buffer,
        pruned.chunks[i].buffer,
        hChunk.buffer,
        buffer,
        slot,
      ]);
      dispatchIn(pass, pipeline, group, tilesX, tilesY);
      base += tilesX * tilesY;
    }
  });
  return { buffer, count };
}

export async function readReconstructionError(
  ctx: GpuContext,
  partials: ErrorPartials,
): Promise<ReconstructionError> {
  const values = await readFloat32(ctx, partials.buffer, partials.count * 2);
  let numerator = 0;
  let denominator = 0;
  for (let i = 0; i < partials.count; i++) {
    numerator += values[2 * i];
    denominator += values[2 * i + 1];
  }
  return { numerator, denominator, relativeError: relativeError(numerator, denominator) };
}

export function relativeError(numerator: number, denominator: number): number {
  if (denominator > 0) return numerator / denominator;
  return numerator === 0 ? 0 : Number.POSITIVE_INFINITY;
}

/** The error metric on its own, for its kernel test: W, Ŵ [rows, columns] and H [columns, columns] from the CPU. */
export async function reconstructionError(
  ctx: GpuContext,
  original: Float32Array,
  pruned: Float32Array,
  rows: number,
  columns: number,
  H: Float32Array,
): Promise<ReconstructionError> {
  return withErrorScope(ctx, 'reconstruction error', async () => {
    const matrices = [
      uploadChunkedMatrix(ctx, original, rows, columns, 'W'),
      uploadChunkedMatrix(ctx, pruned, rows, columns, 'Wpruned'),
      uploadChunkedMatrix(ctx, H, columns, columns, 'H'),
    ];
    const run = new GpuRun(ctx, 'reconstructionError');
    let partials: ErrorPartials | undefined;
    await run.pass('error', (pass) => {
      partials = encodeReconstructionError(ctx, run, pass, matrices[0], matrices[1], matrices[2]);
    });
    await run.finish();
    const result = await readReconstructionError(ctx, partials!);
    run.destroy();
    for (const matrix of matrices) destroyChunkedMatrix(matrix);
    return result;
  });
}

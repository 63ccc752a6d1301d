/**
 * Host for shaders/solver/reconstruction_error.wgsl: the relative reconstruction error of a pruned layer,
 * ‖(W − Ŵ)X‖² / ‖WX‖² = tr(ΔW·H·ΔWᵀ) / tr(W·H·Wᵀ) with the undamped H, without keeping X.
 */
import shader from '../../../shaders/solver/reconstruction_error.wgsl?raw';
import { readFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { computePipeline, withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix, TILE_ROWS, TILED } from '../gpu/split-matrix';

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

/** `original` and `pruned` have the same parts (pruned.allocateLike or a copy). */
export function encodeReconstructionError(
  ctx: GpuContext,
  recorder: CommandRecorder,
  original: SplitMatrix,
  pruned: SplitMatrix,
  H: SplitMatrix,
): ErrorPartials {
  const columns = original.cols;
  const tilesX = Math.ceil(columns / TILE_ROWS);
  let count = 0;
  for (const part of original.parts) count += tilesX * Math.ceil(part.rows / TILE_ROWS) * H.parts.length;
  const buffer = recorder.buffer(count * 8, 'errorPartials');
  const pipeline = computePipeline(ctx, shader);
  let base = 0;
  original.parts.forEach((part, i) => {
    const tilesY = Math.ceil(part.rows / TILE_ROWS);
    for (const hPart of H.parts) {
      const params = recorder.params([columns, part.rows, hPart.firstRow, hPart.rows, base]);
      recorder.dispatch(
        pipeline,
        [part.buffer, pruned.parts[i].buffer, hPart.buffer, buffer, params],
        tilesX,
        tilesY,
      );
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
      SplitMatrix.upload(ctx, original, rows, columns, 'W', TILED),
      SplitMatrix.upload(ctx, pruned, rows, columns, 'Wpruned', TILED),
      SplitMatrix.upload(ctx, H, columns, columns, 'H', TILED),
    ];
    const recorder = new CommandRecorder(ctx, 'reconstructionError');
    let partials: ErrorPartials | undefined;
    await recorder.step('error', () => {
      partials = encodeReconstructionError(ctx, recorder, matrices[0], matrices[1], matrices[2]);
    });
    await recorder.finish();
    const result = await readReconstructionError(ctx, partials!);
    recorder.destroy();
    for (const matrix of matrices) matrix.destroy();
    return result;
  });
}

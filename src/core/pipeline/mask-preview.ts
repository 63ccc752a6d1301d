/** A coarse picture of which weights a pruned layer kept, for the UI's mask thumbnail. */
import type { MaskPreview } from './types';

/** Density of nonzero weights per cell of an at most `maxCells`×`maxCells` grid over W [rows, cols]. */
export function maskPreview(W: Float32Array, rows: number, cols: number, maxCells = 64): MaskPreview {
  const height = Math.min(rows, maxCells);
  const width = Math.min(cols, maxCells);
  const kept = new Float64Array(width * height);
  const counts = new Float64Array(width * height);
  for (let r = 0; r < rows; r++) {
    const cellRow = Math.floor((r * height) / rows) * width;
    for (let c = 0; c < cols; c++) {
      const cell = cellRow + Math.floor((c * width) / cols);
      counts[cell]++;
      if (W[r * cols + c] !== 0) kept[cell]++;
    }
  }
  const picture = new Uint8Array(width * height);
  for (let i = 0; i < picture.length; i++) picture[i] = Math.round((255 * kept[i]) / Math.max(1, counts[i]));
  return { width, height, kept: picture };
}

export function zeroFraction(W: Float32Array): number {
  let zeros = 0;
  for (let i = 0; i < W.length; i++) if (W[i] === 0) zeros++;
  return W.length ? zeros / W.length : 0;
}

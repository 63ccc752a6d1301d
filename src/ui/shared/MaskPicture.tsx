import { useEffect, useRef, useSyncExternalStore } from 'react';
import type { MaskPreview } from '../../core/pipeline/types';

const DARK = '(prefers-color-scheme: dark)';

function subscribeToScheme(onChange: () => void): () => void {
  const query = window.matchMedia?.(DARK);
  query?.addEventListener('change', onChange);
  return () => query?.removeEventListener('change', onChange);
}

/** Whether the page is in dark mode now; follows changes of the system setting. */
function useDarkScheme(): boolean {
  return useSyncExternalStore(subscribeToScheme, () => window.matchMedia?.(DARK).matches ?? false);
}

/**
 * The picture's size in CSS pixels: the layer's own aspect (rows down, columns across), the longer side `size`.
 * The mask's cells are at most 64 on a side, so a 64×172 layer's mask is a square grid that must be drawn wide.
 */
export function maskPictureSize(
  rows: number,
  cols: number,
  size: number,
  minimum = 24,
): { width: number; height: number } {
  const aspect = rows / Math.max(1, cols);
  const width = aspect > 1 ? size / aspect : size;
  const height = aspect > 1 ? size : size * aspect;
  return { width: Math.max(minimum, Math.round(width)), height: Math.max(minimum, Math.round(height)) };
}

/**
 * A coarse picture of which weights a layer kept: one pixel per cell of W (rows down, columns across), brighter
 * where more weights survive. Drawn on a canvas and scaled up with crisp pixels.
 */
export function MaskPicture({
  mask,
  shape,
  label,
  size = 200,
}: {
  mask: MaskPreview;
  /** The layer's shape; the mask's own grid when not given. */
  shape?: { rows: number; cols: number };
  label: string;
  size?: number;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const dark = useDarkScheme();
  useEffect(() => {
    const element = canvas.current;
    const context = element?.getContext('2d');
    if (!element || !context || mask.width === 0 || mask.height === 0) return;
    element.width = mask.width;
    element.height = mask.height;
    const image = context.createImageData(mask.width, mask.height);
    // Kept weights in the accent colour, pruned ones in the card's background tone.
    const [r0, g0, b0] = dark ? [23, 27, 33] : [236, 240, 246];
    const [r1, g1, b1] = dark ? [110, 161, 255] : [47, 111, 235];
    for (let i = 0; i < mask.kept.length; i++) {
      const t = mask.kept[i] / 255;
      image.data[i * 4] = r0 + (r1 - r0) * t;
      image.data[i * 4 + 1] = g0 + (g1 - g0) * t;
      image.data[i * 4 + 2] = b0 + (b1 - b0) * t;
      image.data[i * 4 + 3] = 255;
    }
    context.putImageData(image, 0, 0);
  }, [mask, dark]);
  const { width, height } = maskPictureSize(shape?.rows ?? mask.height, shape?.cols ?? mask.width, size);
  return (
    <canvas
      ref={canvas}
      className="mask"
      role="img"
      aria-label={label}
      style={{ width: `${width}px`, height: `${height}px` }}
    />
  );
}

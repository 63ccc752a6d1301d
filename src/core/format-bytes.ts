/**
 * Byte counts in words, one convention per kind of size:
 * - formatBytes: memory (GPU buffers, binding limits, process memory) and sizes on the page, in binary units
 *   (KiB, MiB, GiB), as GPU tools and limits state them;
 * - formatFileSize: file sizes in messages and on the command line, in decimal units (kB, MB, GB), as file
 *   managers and model hubs show them.
 */

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  return scaled(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB']);
}

export function formatFileSize(bytes: number): string {
  return scaled(bytes, 1000, ['B', 'kB', 'MB', 'GB', 'TB', 'PB']);
}

/** Three significant figures at most: "512 B", "1.5 kB", "1021 KiB". */
function scaled(bytes: number, base: number, units: string[]): string {
  let value = bytes;
  let unit = 0;
  while (value >= base && unit < units.length - 1) {
    value /= base;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

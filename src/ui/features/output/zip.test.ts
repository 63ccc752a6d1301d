import { describe, expect, it } from 'vitest';
import { zipBlobs } from './zip';

/** Bit-by-bit CRC-32 (no table), independent of the writer's table-driven one. */
function crc32Reference(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

interface ReadEntry {
  name: string;
  crc: number;
  data: Uint8Array;
}

/**
 * Reads a stored (uncompressed) archive the way unzip does: end record → central directory → local headers, and
 * the data descriptor after the data when the local header defers the CRC to it (general-purpose flag bit 3, as
 * streaming writers do).
 */
function readZip(archive: Uint8Array): ReadEntry[] {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  let end = archive.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error('no end of central directory');
  const count = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  const entries: ReadEntry[] = [];
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    expect(view.getUint32(offset, true)).toBe(0x02014b50);
    const method = view.getUint16(offset + 10, true);
    const crc = view.getUint32(offset + 16, true);
    const size = view.getUint32(offset + 24, true);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    const local = view.getUint32(offset + 42, true);
    const name = decoder.decode(archive.subarray(offset + 46, offset + 46 + nameLength));
    expect(method).toBe(0);
    expect(view.getUint32(local, true)).toBe(0x04034b50);
    const localName = view.getUint16(local + 26, true);
    const localExtra = view.getUint16(local + 28, true);
    const start = local + 30 + localName + localExtra;
    const deferred = (view.getUint16(local + 6, true) & 0x0008) !== 0;
    if (deferred) {
      // Data descriptor: optional signature, then CRC-32.
      const after = start + size;
      const signed = view.getUint32(after, true) === 0x08074b50;
      expect(view.getUint32(after + (signed ? 4 : 0), true)).toBe(crc);
    } else expect(view.getUint32(local + 14, true)).toBe(crc);
    entries.push({ name, crc, data: archive.slice(start, start + size) });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

describe('zip of a model folder', () => {
  it('holds every file byte for byte under the folder name, readable by an independent reader', async () => {
    const weights = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);
    const files = [
      { path: 'stories260K-sparsegpt-2of4/config.json', blob: new Blob(['{"model_type":"llama"}']) },
      { path: 'stories260K-sparsegpt-2of4/model.safetensors', blob: new Blob([weights]) },
      { path: 'stories260K-sparsegpt-2of4/empty.txt', blob: new Blob([]) },
      { path: 'stories260K-sparsegpt-2of4/tokenizer/ü.json', blob: new Blob(['{}']) },
    ];
    const seen: number[] = [];
    const zip = await zipBlobs(files, (done) => seen.push(done), new Date(2024, 4, 17, 13, 45, 30));
    const entries = readZip(new Uint8Array(await zip.arrayBuffer()));
    expect(entries.map((e) => e.name)).toEqual(files.map((f) => f.path));
    for (const [i, entry] of entries.entries()) {
      const expected = new Uint8Array(await files[i].blob.arrayBuffer());
      expect(entry.data).toEqual(expected);
      expect(entry.crc).toBe(crc32Reference(expected));
    }
    expect(seen.at(-1)).toBe(files.reduce((sum, f) => sum + f.blob.size, 0));
    expect(zip.type).toBe('application/zip');
  });
});

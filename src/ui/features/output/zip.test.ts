import { describe, expect, it } from 'vitest';
import { centralHeader, crc32Update, endRecords, localHeader, zipBlobs } from './zip';

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

/** Reads a stored (uncompressed) archive the way unzip does: end record → central directory → local headers. */
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
    expect(view.getUint32(local + 14, true)).toBe(crc);
    const localName = view.getUint16(local + 26, true);
    const localExtra = view.getUint16(local + 28, true);
    const start = local + 30 + localName + localExtra;
    entries.push({ name, crc, data: archive.slice(start, start + size) });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

describe('zip of a model folder', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32Update(0, new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const random = new Uint8Array(10_000).map((_, i) => (i * 7919 + 13) & 0xff);
    // Fed in pieces, as streamed from a file.
    const pieces = crc32Update(crc32Update(0, random.subarray(0, 3333)), random.subarray(3333));
    expect(pieces).toBe(crc32Reference(random));
  });

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

  it('switches to ZIP64 fields for files and offsets past 4 GiB', () => {
    const name = new TextEncoder().encode('m/model-00001-of-00002.safetensors');
    const stamp = { time: 0, date: 0 };
    const big = { name, size: 5_000_000_000, crc: 0x12345678, offset: 6_000_000_000 };
    const local = new DataView(localHeader(big, stamp).buffer);
    expect(local.getUint32(18, true)).toBe(0xffffffff);
    expect(local.getUint32(22, true)).toBe(0xffffffff);
    const localExtra = 30 + name.length;
    expect(local.getUint16(localExtra, true)).toBe(0x0001);
    expect(Number(local.getBigUint64(localExtra + 4, true))).toBe(5_000_000_000);

    const central = new DataView(centralHeader(big, stamp).buffer);
    expect(central.getUint32(42, true)).toBe(0xffffffff);
    const extra = 46 + name.length;
    expect(central.getUint16(extra + 2, true)).toBe(24);
    expect(Number(central.getBigUint64(extra + 4, true))).toBe(5_000_000_000);
    expect(Number(central.getBigUint64(extra + 20, true))).toBe(6_000_000_000);

    const small = new DataView(centralHeader({ ...big, size: 10, offset: 20 }, stamp).buffer);
    expect(small.getUint16(30, true)).toBe(0);
    expect(small.getUint32(42, true)).toBe(20);

    const records = endRecords(2, 300, 11_000_000_000);
    expect(records).toHaveLength(3);
    const zip64End = new DataView(records[0].buffer);
    expect(zip64End.getUint32(0, true)).toBe(0x06064b50);
    expect(Number(zip64End.getBigUint64(48, true))).toBe(11_000_000_000);
    const locator = new DataView(records[1].buffer);
    expect(Number(locator.getBigUint64(8, true))).toBe(11_000_000_300);
    expect(endRecords(2, 300, 1000)).toHaveLength(1);
  });
});

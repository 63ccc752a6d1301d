/**
 * A ZIP archive (stored, no compression; ZIP64 where sizes or offsets pass 4 GiB) assembled as a Blob of headers
 * and the original file Blobs. The browser keeps OPFS Files on disk, so a model-sized archive never sits in memory:
 * only the CRC-32 of each file is computed by streaming through it once. Used to download a pruned model folder
 * as one file in browsers that cannot write into a folder the user picks.
 */

export interface ZipEntry {
  /** Path inside the archive, '/'-separated ("stories260K-sparsegpt-2of4/model.safetensors"). */
  path: string;
  blob: Blob;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32Update(crc: number, bytes: Uint8Array): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export async function crc32OfBlob(blob: Blob, onBytes?: (bytes: number) => void): Promise<number> {
  let crc = 0;
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return crc;
    crc = crc32Update(crc, value);
    onBytes?.(value.byteLength);
  }
}

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const UTF8_NAMES = 0x0800;

/** Little-endian writer over a fixed-size buffer. */
class Bytes {
  readonly data: Uint8Array<ArrayBuffer>;
  private readonly view: DataView;
  private at = 0;
  constructor(size: number) {
    this.data = new Uint8Array(size);
    this.view = new DataView(this.data.buffer);
  }
  u16(v: number) {
    this.view.setUint16(this.at, v, true);
    this.at += 2;
    return this;
  }
  u32(v: number) {
    this.view.setUint32(this.at, v >>> 0, true);
    this.at += 4;
    return this;
  }
  u64(v: number) {
    this.view.setBigUint64(this.at, BigInt(v), true);
    this.at += 8;
    return this;
  }
  bytes(b: Uint8Array) {
    this.data.set(b, this.at);
    this.at += b.length;
    return this;
  }
}

function dosDateTime(date: Date): { time: number; date: number } {
  const year = Math.max(1980, date.getFullYear());
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

/** One file as placed in the archive (exported with the header builders for tests of the ZIP64 fields). */
export interface Placed {
  name: Uint8Array;
  size: number;
  crc: number;
  offset: number;
}

export function localHeader(entry: Placed, stamp: { time: number; date: number }): Uint8Array<ArrayBuffer> {
  const zip64 = entry.size >= MAX32;
  const extra = zip64 ? 20 : 0;
  const out = new Bytes(30 + entry.name.length + extra)
    .u32(0x04034b50)
    .u16(zip64 ? 45 : 20)
    .u16(UTF8_NAMES)
    .u16(0)
    .u16(stamp.time)
    .u16(stamp.date)
    .u32(entry.crc)
    .u32(zip64 ? MAX32 : entry.size)
    .u32(zip64 ? MAX32 : entry.size)
    .u16(entry.name.length)
    .u16(extra)
    .bytes(entry.name);
  if (zip64) out.u16(0x0001).u16(16).u64(entry.size).u64(entry.size);
  return out.data;
}

export function centralHeader(entry: Placed, stamp: { time: number; date: number }): Uint8Array<ArrayBuffer> {
  const bigSize = entry.size >= MAX32;
  const bigOffset = entry.offset >= MAX32;
  const extraFields = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
  const extra = extraFields ? 4 + extraFields : 0;
  const out = new Bytes(46 + entry.name.length + extra)
    .u32(0x02014b50)
    .u16(45)
    .u16(bigSize || bigOffset ? 45 : 20)
    .u16(UTF8_NAMES)
    .u16(0)
    .u16(stamp.time)
    .u16(stamp.date)
    .u32(entry.crc)
    .u32(bigSize ? MAX32 : entry.size)
    .u32(bigSize ? MAX32 : entry.size)
    .u16(entry.name.length)
    .u16(extra)
    .u16(0)
    .u16(0)
    .u16(0)
    .u32(0)
    .u32(bigOffset ? MAX32 : entry.offset)
    .bytes(entry.name);
  if (extra) {
    out.u16(0x0001).u16(extraFields);
    if (bigSize) out.u64(entry.size).u64(entry.size);
    if (bigOffset) out.u64(entry.offset);
  }
  return out.data;
}

export function endRecords(
  count: number,
  directorySize: number,
  directoryOffset: number,
): Uint8Array<ArrayBuffer>[] {
  const zip64 = count >= MAX16 || directorySize >= MAX32 || directoryOffset >= MAX32;
  const parts: Uint8Array<ArrayBuffer>[] = [];
  if (zip64) {
    const recordOffset = directoryOffset + directorySize;
    parts.push(
      new Bytes(56)
        .u32(0x06064b50)
        .u64(44)
        .u16(45)
        .u16(45)
        .u32(0)
        .u32(0)
        .u64(count)
        .u64(count)
        .u64(directorySize)
        .u64(directoryOffset).data,
      new Bytes(20).u32(0x07064b50).u32(0).u64(recordOffset).u32(1).data,
    );
  }
  parts.push(
    new Bytes(22)
      .u32(0x06054b50)
      .u16(0)
      .u16(0)
      .u16(Math.min(count, MAX16))
      .u16(Math.min(count, MAX16))
      .u32(Math.min(directorySize, MAX32))
      .u32(Math.min(directoryOffset, MAX32))
      .u16(0).data,
  );
  return parts;
}

/**
 * Builds the archive. `onProgress` gets the bytes checksummed so far and the total, for a progress bar on big
 * models.
 */
export async function zipBlobs(
  entries: ZipEntry[],
  onProgress?: (done: number, total: number) => void,
  now = new Date(),
): Promise<Blob> {
  const encoder = new TextEncoder();
  const stamp = dosDateTime(now);
  const total = entries.reduce((sum, e) => sum + e.blob.size, 0);
  let checked = 0;
  const parts: BlobPart[] = [];
  const placed: Placed[] = [];
  let offset = 0;
  for (const entry of entries) {
    const crc = await crc32OfBlob(entry.blob, (bytes) => {
      checked += bytes;
      onProgress?.(checked, total);
    });
    const item: Placed = { name: encoder.encode(entry.path), size: entry.blob.size, crc, offset };
    const header = localHeader(item, stamp);
    parts.push(header, entry.blob);
    offset += header.length + entry.blob.size;
    placed.push(item);
  }
  const directoryOffset = offset;
  let directorySize = 0;
  for (const item of placed) {
    const header = centralHeader(item, stamp);
    parts.push(header);
    directorySize += header.length;
  }
  parts.push(...endRecords(placed.length, directorySize, directoryOffset));
  return new Blob(parts, { type: 'application/zip' });
}

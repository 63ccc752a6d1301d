/**
 * Byte sources (files to read: a browser File/Blob, a Node file handle, fetched bytes) and byte sinks (files to
 * write: a File System Access writable, an OPFS sync handle, a Node file). Everything above this layer reads and
 * writes through these two interfaces only, so the same reader and writer run in the worker and in Node.
 */
import { ModelFileError } from './errors';

export interface ByteSource {
  /** Path of the file inside its model folder (or its file name), used in every message about it. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes starting at `offset`; rejects when the range is outside the file or reading fails. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface ByteSink {
  /** Appends bytes after what `write` wrote before. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Present when the destination can seek: writes at an absolute position, growing the file as needed. A writer
   * uses either this or `write` on one sink, never both.
   */
  writeAt?(position: number, chunk: Uint8Array): Promise<void>;
  /** Makes the file final (renamed or committed into place). */
  close(): Promise<void>;
  /** Discards what was written; the destination is left as it was before. */
  abort(reason?: unknown): Promise<void>;
}

/** Opens a sink for one output file, by its path relative to the output folder ("model.safetensors"). */
export type SinkFactory = (path: string) => Promise<ByteSink>;

/** Reads and writes are split into pieces of this size so no step needs a model-sized buffer. */
export const CHUNK_BYTES = 16 * 1024 * 1024;

export function checkReadRange(source: { name: string; size: number }, offset: number, length: number): void {
  const valid =
    Number.isSafeInteger(offset) &&
    Number.isSafeInteger(length) &&
    offset >= 0 &&
    length >= 0 &&
    offset + length <= source.size;
  if (!valid) {
    throw new ModelFileError(
      'read-failed',
      `${source.name}: cannot read ${length} bytes at offset ${offset}: the file has ${source.size} bytes`,
      { file: source.name },
    );
  }
}

export function memoryByteSource(bytes: Uint8Array, name: string): ByteSource {
  const source: ByteSource = {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkReadRange(source, offset, length);
      return bytes.slice(offset, offset + length);
    },
  };
  return source;
}

/** A browser File (or any Blob): slices are read lazily, so a 10 GB file costs nothing until read. */
export function blobByteSource(blob: Blob, name?: string): ByteSource {
  const fileName = name ?? (blob as Partial<File>).name ?? 'blob';
  const source: ByteSource = {
    name: fileName,
    size: blob.size,
    async read(offset, length) {
      checkReadRange(source, offset, length);
      let buffer: ArrayBuffer;
      try {
        buffer = await blob.slice(offset, offset + length).arrayBuffer();
      } catch (cause) {
        throw new ModelFileError(
          'read-failed',
          `could not read ${fileName} (was it changed, moved or deleted after it was picked?): ${String(cause)}`,
          { file: fileName, cause },
        );
      }
      if (buffer.byteLength !== length) {
        throw new ModelFileError(
          'read-failed',
          `${fileName} changed while it was being read: got ${buffer.byteLength} of ${length} bytes at offset ${offset}`,
          { file: fileName },
        );
      }
      return new Uint8Array(buffer);
    },
  };
  return source;
}

/** A sink that keeps the bytes in memory: for small files and tests. Seekable. */
export function memoryByteSink(): ByteSink & { bytes(): Uint8Array; closed(): boolean } {
  let buffer = new Uint8Array(1024);
  let length = 0;
  let appendAt = 0;
  let state: 'open' | 'closed' | 'aborted' = 'open';
  const place = (position: number, chunk: Uint8Array) => {
    if (state !== 'open') throw new ModelFileError('bad-write', `write to a sink that is already ${state}`);
    const end = position + chunk.byteLength;
    if (end > buffer.byteLength) {
      const grown = new Uint8Array(Math.max(end, buffer.byteLength * 2));
      grown.set(buffer.subarray(0, length));
      buffer = grown;
    }
    buffer.set(chunk, position);
    length = Math.max(length, end);
  };
  return {
    async write(chunk) {
      place(appendAt, chunk);
      appendAt += chunk.byteLength;
    },
    async writeAt(position, chunk) {
      place(position, chunk);
    },
    async close() {
      state = 'closed';
    },
    async abort() {
      state = 'aborted';
      buffer = new Uint8Array(0);
      length = 0;
    },
    bytes: () => buffer.slice(0, length),
    closed: () => state === 'closed',
  };
}

/**
 * A sink that collects a Blob, for browsers without the File System Access API: browsers keep large Blobs on disk,
 * so the result can be downloaded through an object URL. Append-only.
 */
export function blobByteSink(type = 'application/octet-stream'): ByteSink & { blob(): Blob | undefined } {
  let parts: BlobPart[] = [];
  let result: Blob | undefined;
  return {
    async write(chunk) {
      if (result) throw new ModelFileError('bad-write', 'write to a Blob sink that is already closed');
      // Copied: callers reuse their chunk buffers.
      parts.push(new Blob([chunk.slice()]));
    },
    async close() {
      result = new Blob(parts, { type });
      parts = [];
    },
    async abort() {
      parts = [];
    },
    blob: () => result,
  };
}

export async function readAll(source: ByteSource): Promise<Uint8Array> {
  return source.read(0, source.size);
}

/** Copies a whole source into a sink in CHUNK_BYTES pieces, then closes the sink. */
export async function copySourceToSink(
  source: ByteSource,
  sink: ByteSink,
  chunkBytes = CHUNK_BYTES,
): Promise<void> {
  try {
    for (let offset = 0; offset < source.size; offset += chunkBytes) {
      await sink.write(await source.read(offset, Math.min(chunkBytes, source.size - offset)));
    }
  } catch (error) {
    await sink.abort(error);
    throw error;
  }
  await sink.close();
}

/**
 * Browser file access (the browser's counterpart of src/node/files.ts), usable in the worker and the page: folders
 * from a directory handle, and sinks over the File System Access API (a folder the user picked, or the origin
 * private file system). Only types of the DOM are used here, no globals, so this module also loads in Node.
 * Dropped and picked files are collected by the page (src/ui/features/model/drop.ts).
 */
import { type ByteSink, type ByteSource, blobByteSource, type SinkFactory } from '../core/io/bytes';
import { ModelFileError } from '../core/io/errors';
import { folderFromBlobs, type ModelFolder, normalizePath } from '../core/io/folder';

function writeFailed(path: string, cause: unknown): ModelFileError {
  const quota = cause instanceof DOMException && cause.name === 'QuotaExceededError';
  return new ModelFileError(
    'write-failed',
    quota
      ? `not enough storage to write ${path}: free some disk space (the browser's storage quota is full)`
      : `could not write ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
    { file: path, cause },
  );
}

/** Over a createWritable() stream: the browser writes a swap file and swaps it in on close; abort discards it. */
export function writableStreamSink(stream: FileSystemWritableFileStream, path = 'file'): ByteSink {
  const guard = async (operation: () => Promise<void>) => {
    try {
      await operation();
    } catch (cause) {
      throw writeFailed(path, cause);
    }
  };
  return {
    write: (chunk) => guard(() => stream.write(chunk as Uint8Array<ArrayBuffer>)),
    writeAt: (position, chunk) =>
      guard(() => stream.write({ type: 'write', position, data: chunk as Uint8Array<ArrayBuffer> })),
    close: () => guard(() => stream.close()),
    abort: async (reason) => {
      await stream.abort(reason).catch(() => undefined);
    },
  };
}

/**
 * Over an OPFS sync access handle (dedicated workers only): the fastest way to write in a worker. It writes in
 * place, so `onAbort` should remove the file.
 */
export function syncAccessHandleSink(
  handle: FileSystemSyncAccessHandle,
  path = 'file',
  onAbort: () => Promise<void> = async () => undefined,
): ByteSink {
  let cursor = 0;
  const put = (position: number, chunk: Uint8Array) => {
    let done = 0;
    while (done < chunk.byteLength) {
      const n = handle.write(chunk.subarray(done) as Uint8Array<ArrayBuffer>, { at: position + done });
      if (n <= 0) throw writeFailed(path, new Error('the file system accepted no more bytes'));
      done += n;
    }
  };
  const guard = (operation: () => void) => {
    try {
      operation();
    } catch (cause) {
      throw cause instanceof ModelFileError ? cause : writeFailed(path, cause);
    }
  };
  return {
    async write(chunk) {
      guard(() => put(cursor, chunk));
      cursor += chunk.byteLength;
    },
    async writeAt(position, chunk) {
      guard(() => put(position, chunk));
    },
    async close() {
      guard(() => {
        handle.flush();
        handle.close();
      });
    },
    async abort() {
      try {
        handle.close();
      } catch {
        // Already closed: nothing to release.
      }
      await onAbort().catch(() => undefined);
    },
  };
}

async function directoryFor(
  root: FileSystemDirectoryHandle,
  parts: string[],
): Promise<FileSystemDirectoryHandle> {
  let dir = root;
  for (const part of parts) dir = await dir.getDirectoryHandle(part, { create: true });
  return dir;
}

/**
 * Sinks for files under a directory handle (showDirectoryPicker() or navigator.storage.getDirectory()), creating
 * subfolders as needed. `syncAccess` uses sync access handles (OPFS, in a dedicated worker).
 */
export function directorySinkFactory(
  root: FileSystemDirectoryHandle,
  options: { syncAccess?: boolean } = {},
): SinkFactory {
  return async (path) => {
    const parts = normalizePath(path).split('/');
    const name = parts.pop() as string;
    try {
      const dir = await directoryFor(root, parts);
      const file = await dir.getFileHandle(name, { create: true });
      if (options.syncAccess) {
        const handle = await file.createSyncAccessHandle();
        handle.truncate(0);
        return syncAccessHandleSink(handle, path, () => dir.removeEntry(name));
      }
      return writableStreamSink(await file.createWritable({ keepExistingData: false }), path);
    } catch (cause) {
      throw cause instanceof ModelFileError ? cause : writeFailed(path, cause);
    }
  };
}

/** A folder from a FileSystemDirectoryHandle (showDirectoryPicker in Chrome and Edge). */
export async function folderFromDirectoryHandle(handle: FileSystemDirectoryHandle): Promise<ModelFolder> {
  const entries: [string, Blob][] = [];
  const walk = async (dir: FileSystemDirectoryHandle, prefix: string) => {
    for await (const entry of dir.values()) {
      if (entry.name.startsWith('.')) continue;
      const path = `${prefix}${entry.name}`;
      if (entry.kind === 'file') entries.push([path, await (entry as FileSystemFileHandle).getFile()]);
      else await walk(entry as FileSystemDirectoryHandle, `${path}/`);
    }
  };
  await walk(handle, '');
  return folderFromBlobs(entries, handle.name);
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof DOMException && (error.name === 'NotFoundError' || error.name === 'TypeMismatchError')
  );
}

/** Reads files of a directory handle as byte sources; undefined for a file that is not there. */
export function directorySource(
  directory: FileSystemDirectoryHandle,
): (path: string) => Promise<ByteSource | undefined> {
  return async (path) => {
    try {
      const file = await (await directory.getFileHandle(path)).getFile();
      return blobByteSource(file, path);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
}

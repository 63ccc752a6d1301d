/**
 * Node byte sources and sinks over real files. Reads open the file per call and check that it is still the file
 * that was listed (same inode, size and modification time), so a file replaced mid-run is an error, not silently
 * different data. Writes go to a temporary name beside the target and are renamed into place on close.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { mkdir, open, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { ByteSink, ByteSource, SinkFactory } from '../core/io/bytes';
import { checkReadRange } from '../core/io/bytes';
import { ModelFileError } from '../core/io/errors';
import { createModelFolder, type ModelFolder, normalizePath } from '../core/io/folder';

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

/** A file system error in words. */
export function systemMessage(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'the file does not exist (any more)';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOSPC') return 'the disk is full';
  if (code === 'EDQUOT') return 'the disk quota is used up';
  if (code === 'EROFS') return 'the disk is read-only';
  if (code === 'EISDIR') return 'it is a folder, not a file';
  if (code === 'ENOTDIR') return 'a part of the path is a file, not a folder';
  return cause instanceof Error ? cause.message : String(cause);
}

/** A source over the file at `path`, named `name` (its path inside the model folder) in messages. */
export async function fileByteSource(path: string, name = basename(path)): Promise<ByteSource> {
  let listed: Stats;
  try {
    listed = await stat(path);
  } catch (cause) {
    throw new ModelFileError('missing-file', `cannot open ${path}: ${systemMessage(cause)}`, {
      file: name,
      cause,
    });
  }
  if (!listed.isFile()) {
    throw new ModelFileError('missing-file', `${path} is not a regular file`, { file: name });
  }
  const source: ByteSource = {
    name,
    size: listed.size,
    async read(offset, length) {
      checkReadRange(source, offset, length);
      const out = new Uint8Array(length);
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await open(path, constants.O_RDONLY);
        if (!sameFile(await handle.stat(), listed)) {
          throw new ModelFileError(
            'read-failed',
            `${name} changed on disk while it was being used (was it overwritten?); open the model again`,
            { file: name },
          );
        }
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(out, done, length - done, offset + done);
          if (bytesRead === 0)
            throw new ModelFileError('read-failed', `${name} ended early while reading`, { file: name });
          done += bytesRead;
        }
      } catch (cause) {
        if (cause instanceof ModelFileError) throw cause;
        throw new ModelFileError('read-failed', `could not read ${name}: ${systemMessage(cause)}`, {
          file: name,
          cause,
        });
      } finally {
        await handle?.close();
      }
      return out;
    },
  };
  return source;
}

/** Folders that hold caches or version control, never model files. */
const SKIPPED_DIRECTORIES = new Set(['node_modules', '__pycache__']);

/** True when `path` is `folder` or lies under it (both absolute and resolved). */
export function isInside(path: string, folder: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

/**
 * Where symbolic links of the folder may point: the folder itself and, for a snapshot of the Hugging Face cache
 * (…/models--org--name/snapshots/<revision>/, whose files are links to ../../blobs/<hash>), that repository's
 * blob store.
 */
function allowedLinkTargets(root: string): string[] {
  const snapshots = dirname(root);
  const repository = dirname(snapshots);
  const cached =
    basename(snapshots) === 'snapshots' && /^(models|datasets|spaces)--/.test(basename(repository));
  return cached ? [root, join(repository, 'blobs')] : [root];
}

/**
 * A model folder from a directory (files in subfolders included, hidden ones skipped), or from a single file (a
 * loose .safetensors): then the folder holds just that file. Only regular files are read. A symbolic link is
 * followed only to a regular file inside the folder (or, in a Hugging Face cache snapshot, into the repository's
 * blob store); a link that leaves the folder is refused, so a link such as notes.txt -> /etc/passwd is never read,
 * let alone copied into an output the user shares. Linked folders are not followed.
 */
export async function openFolder(path: string): Promise<ModelFolder> {
  let root: string;
  let info: Stats;
  try {
    root = await realpath(resolve(path));
    info = await stat(root);
  } catch (cause) {
    throw new ModelFileError('missing-file', `cannot open ${path}: ${systemMessage(cause)}`, { cause });
  }
  if (info.isFile()) {
    const name = basename(root);
    return createModelFolder(name, [[name, await fileByteSource(root, name)]]);
  }
  if (!info.isDirectory()) {
    throw new ModelFileError('missing-file', `${path} is neither a folder nor a regular file`, {
      file: path,
    });
  }
  const allowed = allowedLinkTargets(root);
  const entries: [string, ByteSource][] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const children = await readdir(dir, { withFileTypes: true });
    for (const child of children) {
      if (child.name.startsWith('.') || SKIPPED_DIRECTORIES.has(child.name)) continue;
      const full = join(dir, child.name);
      const inFolder = normalizePath(relative(root, full).split(sep).join('/'));
      if (child.isDirectory()) {
        if (depth < 4) await walk(full, depth + 1);
      } else if (child.isFile()) entries.push([inFolder, await fileByteSource(full, inFolder)]);
      else if (child.isSymbolicLink()) {
        const source = await linkedFile(full, inFolder, path, allowed);
        if (source) entries.push([inFolder, source]);
      }
      // FIFOs, sockets and devices are never model files (reading a FIFO would block).
    }
  };
  await walk(root, 0);
  return createModelFolder(basename(root), entries);
}

/** The file a link in the folder points to, when it may be read; undefined for a dangling link or a linked folder. */
async function linkedFile(
  link: string,
  inFolder: string,
  folderPath: string,
  allowed: string[],
): Promise<ByteSource | undefined> {
  const target = await realpath(link).catch(() => undefined);
  if (!target) return undefined;
  const inside = allowed.some((folder) => isInside(target, folder));
  const kind = await stat(target).catch(() => undefined);
  if (inside && kind?.isDirectory()) return undefined; // reached through its real path, if at all
  if (!inside || !kind?.isFile()) {
    throw new ModelFileError(
      'unsafe-link',
      `${inFolder} in ${folderPath} is a symbolic link to ${target}, ` +
        `${inside ? 'which is not a regular file' : 'outside the model folder'}: refusing to read it. Replace the ` +
        'link with the file itself, or remove it.',
      { file: inFolder },
    );
  }
  return fileByteSource(target, inFolder);
}

/**
 * A sink writing `path` through a temporary file in the same folder: renamed over `path` on close, deleted on
 * abort, so `path` is either the complete new file or untouched.
 */
export async function fileByteSink(path: string): Promise<ByteSink> {
  const target = resolve(path);
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
  const fail = (cause: unknown) =>
    cause instanceof ModelFileError
      ? cause
      : new ModelFileError('write-failed', `could not write ${path}: ${systemMessage(cause)}`, {
          file: path,
          cause,
        });
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    await mkdir(dirname(target), { recursive: true });
    handle = await open(temporary, 'wx');
  } catch (cause) {
    throw fail(cause);
  }
  let cursor = 0;
  let state: 'open' | 'closed' | 'aborted' = 'open';
  const put = async (position: number, chunk: Uint8Array) => {
    if (state !== 'open')
      throw new ModelFileError('bad-write', `${path} is already ${state}`, { file: path });
    try {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position + done);
        done += bytesWritten;
      }
    } catch (cause) {
      throw fail(cause);
    }
  };
  return {
    async write(chunk) {
      await put(cursor, chunk);
      cursor += chunk.byteLength;
    },
    writeAt: put,
    async close() {
      if (state !== 'open')
        throw new ModelFileError('bad-write', `${path} is already ${state}`, { file: path });
      try {
        await handle.sync();
        await handle.close();
        await rename(temporary, target);
        state = 'closed';
      } catch (cause) {
        state = 'aborted';
        await rm(temporary, { force: true });
        throw fail(cause);
      }
    },
    async abort() {
      if (state !== 'open') return;
      state = 'aborted';
      await handle.close().catch(() => undefined);
      await rm(temporary, { force: true });
    },
  };
}

/** Sinks for files under `directory` (created as needed). */
export function directorySinkFactory(directory: string): SinkFactory {
  const root = resolve(directory);
  return async (path) => {
    const clean = normalizePath(path);
    const target = resolve(root, clean);
    if (!clean || (target !== root && !target.startsWith(root + sep))) {
      throw new ModelFileError('bad-write', `refusing to write ${path} outside ${directory}`, { file: path });
    }
    return fileByteSink(target);
  };
}

/**
 * A model folder as the user gave it: named files, each a ByteSource. Built from a browser FileList or drop
 * (src/browser/files.ts), from fetched URLs (fetch-folder.ts) or from a Node directory (src/node/files.ts).
 */

import { formatFileSize } from '../format-bytes';
import { type ByteSource, blobByteSource } from './bytes';
import { ModelFileError } from './errors';

export interface ModelFolder {
  /** The folder's name as the user knows it ("stories260K"). */
  readonly name: string;
  /** Files by path relative to the folder, '/'-separated ("config.json", "original/params.json"). */
  readonly files: ReadonlyMap<string, ByteSource>;
}

/** JSON and text files bigger than this are not model metadata (the largest tokenizer.json files are ~35 MB). */
export const MAX_TEXT_FILE_BYTES = 256 * 1024 * 1024;

/** Paths are compared '/'-separated, without "./" or leading slashes. */
export function normalizePath(path: string): string {
  return path
    .replaceAll('\\', '/')
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

/** Dot files and folders (.git, .cache, .DS_Store) are never part of a model. */
export function isHiddenPath(path: string): boolean {
  return normalizePath(path)
    .split('/')
    .some((part) => part.startsWith('.'));
}

export function createModelFolder(name: string, entries: Iterable<[string, ByteSource]>): ModelFolder {
  const files = new Map<string, ByteSource>();
  for (const [path, source] of entries) {
    const clean = normalizePath(path);
    if (clean && !isHiddenPath(clean)) files.set(clean, source);
  }
  return { name, files: new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}

/** Files that carry their path inside the picked folder: a FileList from <input webkitdirectory> or a drop. */
export type FileWithPath = File & { relativePath?: string };

/**
 * Builds a folder from picked or dropped files. With webkitRelativePath ("stories260K/config.json") the common top
 * folder is stripped and becomes the folder's name; loose files keep their own names.
 */
export function folderFromFiles(
  files: Iterable<FileWithPath> | ArrayLike<FileWithPath>,
  name?: string,
): ModelFolder {
  const list = Array.from(files as ArrayLike<FileWithPath>);
  return folderFromBlobs(
    list.map((file) => [file.relativePath || file.webkitRelativePath || file.name, file]),
    name,
  );
}

/** Blobs by path; a top folder shared by all paths is stripped and names the folder. */
export function folderFromBlobs(entries: [string, Blob][], name?: string): ModelFolder {
  const paths = entries.map(([path]) => normalizePath(path));
  const tops = new Set(paths.map((path) => (path.includes('/') ? path.split('/')[0] : '')));
  const [top] = tops;
  const stripTop = tops.size === 1 && top !== '';
  const sources = entries.map(([, blob], i): [string, ByteSource] => {
    const path = stripTop ? paths[i].slice(top.length + 1) : paths[i];
    return [path, blobByteSource(blob, path)];
  });
  return createModelFolder(name ?? (stripTop ? top : 'selected files'), sources);
}

export function folderFile(folder: ModelFolder, path: string): ByteSource | undefined {
  return folder.files.get(normalizePath(path));
}

export function requireFile(folder: ModelFolder, path: string, why = ''): ByteSource {
  const source = folderFile(folder, path);
  if (!source) {
    throw new ModelFileError('missing-file', `${folder.name} has no ${path}${why ? `: ${why}` : ''}`, {
      file: path,
    });
  }
  return source;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readTextFile(source: ByteSource): Promise<string> {
  if (source.size > MAX_TEXT_FILE_BYTES) {
    throw new ModelFileError(
      'bad-json',
      `${source.name} is ${formatFileSize(source.size)}: too large for a text or JSON file of a model`,
      { file: source.name },
    );
  }
  const bytes = await source.read(0, source.size);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ModelFileError('bad-json', `${source.name} is not UTF-8 text`, { file: source.name });
  }
}

export async function readJsonFile(source: ByteSource): Promise<unknown> {
  const text = await readTextFile(source);
  try {
    return JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new ModelFileError('bad-json', `${source.name} is not valid JSON (${detail})`, {
      file: source.name,
      cause,
    });
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

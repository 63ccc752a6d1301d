/**
 * The app's browser storage: the layout of the origin private file system (OPFS), in one place for the two sides
 * that use it. Pruned models are written there, one folder per run under "runs/", while the run goes: nothing
 * model-sized is ever held in memory, and the files outlive a reload. Finished blocks of runs that may be resumed
 * live under "progress/".
 *
 * The worker writes (through synchronous access handles, the fastest OPFS path, worker-only). The page lists,
 * saves and removes: it reads the finished files as disk-backed Files, which the browser streams from disk, so
 * saving never passes the model through the worker. This module is platform code (like src/node/), not the
 * worker's: the UI imports it directly and still reaches the worker only through src/worker/client.ts.
 */
import type { SinkFactory } from '../core/io/bytes';
import { directorySinkFactory } from './files';

export const RUNS_FOLDER = 'runs';

export class StorageUnavailableError extends Error {
  constructor(detail: string) {
    super(
      `This browser gives the page no private file storage (${detail}), which is where the pruned model is written. ` +
        'Private or guest windows often refuse it: open the page in a normal window.',
    );
    this.name = 'StorageUnavailableError';
  }
}

async function storageRoot(): Promise<FileSystemDirectoryHandle> {
  if (typeof navigator === 'undefined' || !navigator.storage?.getDirectory) {
    throw new StorageUnavailableError('navigator.storage.getDirectory is missing');
  }
  try {
    return await navigator.storage.getDirectory();
  } catch (error) {
    throw new StorageUnavailableError(error instanceof Error ? error.message : String(error));
  }
}

export async function runsDirectory(): Promise<FileSystemDirectoryHandle> {
  return (await storageRoot()).getDirectoryHandle(RUNS_FOLDER, { create: true });
}

export async function runDirectory(folder: string, create: boolean): Promise<FileSystemDirectoryHandle> {
  return (await runsDirectory()).getDirectoryHandle(folder, { create });
}

/** Sinks for the files of one run's output folder, created fresh (an older folder of the same name is emptied). */
export async function opfsSinkFactory(folder: string): Promise<SinkFactory> {
  await removeRunFolder(folder);
  return directorySinkFactory(await runDirectory(folder, true), { syncAccess: true });
}

export async function removeRunFolder(folder: string): Promise<void> {
  try {
    await (await runsDirectory()).removeEntry(folder, { recursive: true });
  } catch (error) {
    if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error;
  }
}

export interface StoredFile {
  /** Path inside the run folder, '/'-separated. */
  path: string;
  file: File;
}

/** The finished files of a run, as disk-backed Files (reading them does not load them into memory). */
export async function listRunFiles(folder: string): Promise<StoredFile[]> {
  const files: StoredFile[] = [];
  const walk = async (directory: FileSystemDirectoryHandle, prefix: string) => {
    // entries() is not in every TypeScript DOM lib yet; it is in every browser with OPFS.
    const entries = (
      directory as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }
    ).entries();
    for await (const [name, handle] of entries) {
      if (handle.kind === 'directory') await walk(handle as FileSystemDirectoryHandle, `${prefix}${name}/`);
      else files.push({ path: `${prefix}${name}`, file: await (handle as FileSystemFileHandle).getFile() });
    }
  };
  await walk(await runDirectory(folder, false), '');
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function runFolderExists(folder: string): Promise<boolean> {
  try {
    await runDirectory(folder, false);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finished blocks of runs that may still be resumed, one folder per run under "progress/" (kept apart from "runs/",
 * which holds only finished or in-progress output).
 */
export const PROGRESS_FOLDER = 'progress';

export async function progressDirectory(folder: string, create: boolean): Promise<FileSystemDirectoryHandle> {
  const root = await (await storageRoot()).getDirectoryHandle(PROGRESS_FOLDER, { create: true });
  return root.getDirectoryHandle(folder, { create });
}

export async function removeProgressFolder(folder: string): Promise<void> {
  try {
    const root = await (await storageRoot()).getDirectoryHandle(PROGRESS_FOLDER, { create: true });
    await root.removeEntry(folder, { recursive: true });
  } catch (error) {
    if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error;
  }
}

export async function listProgressFolders(): Promise<string[]> {
  const root = await (await storageRoot()).getDirectoryHandle(PROGRESS_FOLDER, { create: true });
  const names: string[] = [];
  for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
  return names;
}

const SAVED_BLOCK = /^block-\d+\.safetensors$/;

/** How many finished blocks a run's progress folder holds, or undefined when it has none. */
export async function countSavedBlocks(folder: string): Promise<number | undefined> {
  let directory: FileSystemDirectoryHandle;
  try {
    directory = await progressDirectory(folder, false);
  } catch {
    return undefined;
  }
  let count = 0;
  for await (const name of (directory as unknown as { keys(): AsyncIterable<string> }).keys()) {
    if (SAVED_BLOCK.test(name)) count++;
  }
  return count;
}

/**
 * The layer explorer of the latest finished run (its Hessians and dense weights, see core/pipeline/explorer-file.ts),
 * under "explorer/<run>", so the explorer comes back after a reload. Only the latest run's is kept.
 */
export const EXPLORER_FOLDER = 'explorer';

async function explorerRoot(): Promise<FileSystemDirectoryHandle> {
  return (await storageRoot()).getDirectoryHandle(EXPLORER_FOLDER, { create: true });
}

export async function explorerDirectory(folder: string, create: boolean): Promise<FileSystemDirectoryHandle> {
  return (await explorerRoot()).getDirectoryHandle(folder, { create });
}

/** Removes saved explorers: the one of `folder`, or all but `keep`'s. */
export async function removeExplorerFolders(which: { folder: string } | { keep: string }): Promise<void> {
  const root = await explorerRoot();
  const names: string[] = [];
  for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
  for (const name of names) {
    const remove = 'folder' in which ? name === which.folder : name !== which.keep;
    if (remove) await root.removeEntry(name, { recursive: true }).catch(() => undefined);
  }
}

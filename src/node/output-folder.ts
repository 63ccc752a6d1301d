/**
 * A model folder written whole or not at all: files go into a hidden sibling folder, which is renamed to the
 * requested name only after everything is written and verified. An existing non-empty folder is never overwritten
 * unless asked, and then only replaced at the very end.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { SinkFactory } from '../core/io/bytes';
import { fileProgressStore, type ProgressStore } from '../core/pipeline/progress-store';
import { directorySinkFactory, fileByteSource } from './files';

export class OutputFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputFolderError';
  }
}

export interface StagedFolder {
  /** Where the files go while they are written. */
  readonly path: string;
  readonly sinkFor: SinkFactory;
  /** Moves the finished folder into place. */
  commit(): Promise<void>;
  /** Deletes everything written. */
  discard(): Promise<void>;
}

async function isNonEmptyFolder(path: string): Promise<boolean> {
  try {
    return (await readdir(path)).length > 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new OutputFolderError(`${path} exists and is a file, not a folder`);
    }
    throw error;
  }
}

export async function stageOutputFolder(target: string, overwrite: boolean): Promise<StagedFolder> {
  const final = resolve(target);
  if (!overwrite && (await isNonEmptyFolder(final))) {
    throw new OutputFolderError(
      `${target} already exists and is not empty: choose another --out or add --force`,
    );
  }
  await mkdir(dirname(final), { recursive: true });
  const staging = join(dirname(final), `.${basename(final)}.${randomBytes(4).toString('hex')}.partial`);
  await mkdir(staging);
  return {
    path: staging,
    sinkFor: directorySinkFactory(staging),
    async commit() {
      if (await isNonEmptyFolder(final)) {
        const old = `${staging}.old`;
        await rename(final, old);
        await rename(staging, final);
        await rm(old, { recursive: true, force: true });
      } else {
        await rm(final, { recursive: true, force: true });
        await rename(staging, final);
      }
    },
    async discard() {
      await rm(staging, { recursive: true, force: true });
    },
  };
}

/**
 * The folder where a CLI run keeps its finished blocks. Without `resume` an old one is cleared first, so a run
 * never silently mixes in blocks of an earlier one.
 */
export async function openProgressFolder(
  path: string,
  key: string,
  resume: boolean,
): Promise<{ store: ProgressStore; remove(): Promise<void> }> {
  const root = resolve(path);
  if (!resume) await rm(root, { recursive: true, force: true });
  else if (!(await isNonEmptyFolder(root))) {
    throw new OutputFolderError(
      `--resume: there is no interrupted run to resume (${path} is missing or empty)`,
    );
  }
  await mkdir(root, { recursive: true });
  const store = fileProgressStore(key, directorySinkFactory(root), async (file) =>
    fileByteSource(join(root, file), file).catch(() => undefined),
  );
  return { store, remove: () => rm(root, { recursive: true, force: true }) };
}

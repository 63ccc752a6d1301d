/**
 * The folders a CLI run writes, and the promises it keeps about them:
 * - the model folder is written whole or not at all: files go into a hidden sibling ".OUT.<random>.partial",
 *   renamed to OUT only after everything is written and verified;
 * - finished blocks go into "OUT.progress" as the run goes, so a crashed or killed run resumes (--resume);
 * - the tool deletes only folders it created and marked as its own (an owner file inside them): a user's folder
 *   that happens to be called OUT or OUT.progress is never removed, --force included;
 * - one run at a time writes to an output (output-lock.ts);
 * - the output never is, holds or lies inside an input (output-paths.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { SinkFactory } from '../core/io/bytes';
import {
  fileProgressStore,
  identityDifference,
  type ProgressIdentity,
  ProgressMismatchError,
  type ProgressStore,
} from '../core/pipeline/progress-store';
import { directorySinkFactory, fileByteSource } from './files';
import { OutputFolderError, writeFailure } from './output-errors';
import { acquireOutputLock, type OutputLock } from './output-lock';
import { type OutputPaths, type RunInput, resolveOutputPaths } from './output-paths';

export { OutputFolderError } from './output-errors';

/** The owner file: a folder holding it was created by this tool and may be replaced or removed by it. */
export const OWNER_FILE = '.sparsegpt-owner.json';

type OwnedKind = 'output' | 'progress';

interface OwnerRecord {
  tool: 'sparsegpt';
  kind: OwnedKind;
  /** Progress folders: the run whose blocks they hold. */
  identity?: ProgressIdentity;
}

type FolderState = { kind: 'missing' | 'empty' | 'file' | 'foreign' } | { kind: 'ours'; owner: OwnerRecord };

async function readOwner(folder: string): Promise<OwnerRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(join(folder, OWNER_FILE), 'utf8')) as Partial<OwnerRecord>;
    return record.tool === 'sparsegpt' && (record.kind === 'output' || record.kind === 'progress')
      ? (record as OwnerRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

async function folderState(path: string, kind: OwnedKind): Promise<FolderState> {
  let entries: string[];
  try {
    entries = await readdir(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ENOTDIR') return { kind: 'file' };
    throw error;
  }
  if (entries.length === 0) return { kind: 'empty' };
  const owner = await readOwner(path);
  return owner?.kind === kind ? { kind: 'ours', owner } : { kind: 'foreign' };
}

async function createOwnedFolder(path: string, record: OwnerRecord): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
    await writeFile(join(path, OWNER_FILE), `${JSON.stringify(record, null, 2)}\n`);
  } catch (error) {
    throw await writeFailure(path, error);
  }
}

/** Removes `path` only when its owner file says it is this tool's folder of `kind`. */
async function removeOwned(path: string, kind: OwnedKind): Promise<void> {
  if ((await readOwner(path))?.kind === kind) await rm(path, { recursive: true, force: true });
}

const BLOCK_FILE = /^block-\d+\.safetensors$/;

async function savedBlockCount(folder: string): Promise<number> {
  const names = await readdir(folder).catch(() => []);
  return names.filter((name) => BLOCK_FILE.test(name)).length;
}

function owner(kind: OwnedKind, identity?: ProgressIdentity): OwnerRecord {
  // Nothing run-specific (no time, no process): a resumed run's output is byte for byte an uninterrupted one's.
  return { tool: 'sparsegpt', kind, ...(identity ? { identity } : {}) };
}

export interface OutputOptions {
  /** Replace an earlier output of this tool at OUT. */
  force: boolean;
  /** Continue the interrupted run whose blocks are in OUT.progress. */
  resume: boolean;
}

export interface OpenedProgress {
  store: ProgressStore;
  /** Blocks an earlier run saved. */
  savedBlocks: number;
}

/**
 * One run's output, from the checks before any work to the final rename. Open it before the model is read (the
 * checks are cheap and refuse early), then open the progress folder once the run's identity is known, stage the
 * model folder, and end with commit() or abandon().
 */
export class OutputRun {
  private staging?: string;
  private progressOpened = false;

  private constructor(
    readonly paths: OutputPaths,
    private readonly options: OutputOptions,
    private readonly lock: OutputLock,
  ) {}

  static async open(out: string, inputs: RunInput[], options: OutputOptions): Promise<OutputRun> {
    const paths = await resolveOutputPaths(out, inputs);
    try {
      await mkdir(dirname(paths.final), { recursive: true });
    } catch (error) {
      throw await writeFailure(dirname(paths.final), error);
    }
    const lock = await acquireOutputLock(paths.lock, out);
    const run = new OutputRun(paths, options, lock);
    try {
      await run.checkOutput();
      await run.checkProgress();
      await run.removeStaleStaging();
    } catch (error) {
      await lock.release();
      throw error;
    }
    return run;
  }

  private async checkOutput(): Promise<void> {
    const { given, final } = this.paths;
    const state = await folderState(final, 'output');
    if (state.kind === 'file') throw new OutputFolderError(`${given} exists and is a file, not a folder`);
    if (state.kind === 'foreign' && this.options.force) {
      throw new OutputFolderError(
        `${given} is not a model folder that sparsegpt wrote (it has no ${OWNER_FILE}), so --force does not ` +
          'replace it: move it away or choose another --out.',
      );
    }
    if ((state.kind === 'foreign' || state.kind === 'ours') && !this.options.force) {
      throw new OutputFolderError(
        `${given} already exists and is not empty: choose another --out or add --force`,
      );
    }
  }

  private async checkProgress(): Promise<void> {
    const { progress } = this.paths;
    const state = await folderState(progress, 'progress');
    if (state.kind === 'file' || state.kind === 'foreign' || state.kind === 'empty') {
      throw new OutputFolderError(
        `${progress} exists but was not made by sparsegpt, which keeps a run's finished blocks there; it is left ` +
          'alone: move it away or choose another --out.',
      );
    }
    const blocks = state.kind === 'ours' ? await savedBlockCount(progress) : 0;
    if (!this.options.resume && blocks > 0) {
      throw new OutputFolderError(
        `${progress} holds ${blocks} finished block${blocks === 1 ? '' : 's'} of an interrupted run into ` +
          `${this.paths.given}: add --resume to continue it, or delete ${progress} to start over.`,
      );
    }
    if (this.options.resume && blocks === 0) {
      throw new OutputFolderError(
        `--resume: there is no interrupted run to resume (${progress} is missing or empty)`,
      );
    }
  }

  /** Staging folders of earlier runs into this output that died before they could remove them. */
  private async removeStaleStaging(): Promise<void> {
    const parent = dirname(this.paths.final);
    const prefix = `.${basename(this.paths.final)}.`;
    for (const name of await readdir(parent).catch(() => [])) {
      if (name.startsWith(prefix) && /\.partial(\.old)?$/.test(name)) {
        await removeOwned(join(parent, name), 'output');
      }
    }
  }

  /** The folder of finished blocks, created or, with --resume, checked against this run's identity. */
  async openProgress(identity: ProgressIdentity): Promise<OpenedProgress> {
    const { progress } = this.paths;
    const existing = await readOwner(progress);
    if (existing?.kind === 'progress') {
      const difference = identityDifference(existing.identity ?? {}, identity);
      if (difference) {
        throw new ProgressMismatchError(
          `${progress} was saved by a run of ${difference}. Resume with the same model, calibration text and ` +
            `settings, or delete ${progress} to start over`,
        );
      }
      for (const name of await readdir(progress)) {
        if (name.endsWith('.partial')) await rm(join(progress, name), { force: true });
      }
    } else await createOwnedFolder(progress, owner('progress', identity));
    this.progressOpened = true;
    const store = fileProgressStore(identity, directorySinkFactory(progress), async (file) =>
      fileByteSource(join(progress, file), file).catch(() => undefined),
    );
    return { store, savedBlocks: await savedBlockCount(progress) };
  }

  /** The hidden folder the model is written into; it becomes OUT at commit(). */
  async stage(): Promise<{ path: string; sinkFor: SinkFactory }> {
    const { final } = this.paths;
    const staging = join(dirname(final), `.${basename(final)}.${randomBytes(4).toString('hex')}.partial`);
    await createOwnedFolder(staging, owner('output'));
    this.staging = staging;
    return { path: staging, sinkFor: directorySinkFactory(staging) };
  }

  /** Moves the finished model folder into place, removes the progress folder and the lock. */
  async commit(): Promise<void> {
    const { final, given, progress } = this.paths;
    const staging = this.staging;
    if (!staging) throw new Error('commit() before stage()');
    const state = await folderState(final, 'output');
    try {
      if (state.kind === 'ours') {
        const old = `${staging}.old`;
        await rename(final, old);
        await rename(staging, final);
        await rm(old, { recursive: true, force: true });
      } else if (state.kind === 'empty' || state.kind === 'missing') {
        if (state.kind === 'empty') await rmdir(final);
        await rename(staging, final);
      } else {
        throw new OutputFolderError(
          `${given} was created by someone else while the run went; the pruned model is left in ${staging}`,
        );
      }
    } catch (error) {
      if (error instanceof OutputFolderError) throw error;
      throw await writeFailure(final, error);
    }
    this.staging = undefined;
    await removeOwned(progress, 'progress');
    await this.lock.release();
  }

  /**
   * After a failure: the partial model folder goes, finished blocks stay for --resume (an empty progress folder
   * goes too). Returns the number of blocks kept.
   */
  async abandon(): Promise<number> {
    if (this.staging) await removeOwned(this.staging, 'output').catch(() => undefined);
    this.staging = undefined;
    let kept = 0;
    if (this.progressOpened) {
      kept = await savedBlockCount(this.paths.progress);
      if (kept === 0) await removeOwned(this.paths.progress, 'progress').catch(() => undefined);
    }
    await this.lock.release();
    return kept;
  }
}

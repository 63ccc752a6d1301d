/**
 * One run at a time per output folder: a lock file beside it (".OUT.lock", created exclusively) names the process
 * that writes there. A second run is refused with that name; a lock left by a process that no longer exists (a
 * crash, kill -9, a power cut) is stale and taken over. The check is by process id on the same host: a lock from
 * another host (a shared network disk) is never taken over, and the message says which file to delete.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { OutputFolderError, writeFailure } from './output-errors';

interface LockRecord {
  pid: number;
  host: string;
  started: string;
}

export interface OutputLock {
  readonly path: string;
  /** Removes the lock if it is still this process's. */
  release(): Promise<void>;
}

/** A lock file being written right now can be empty for a moment; past this age an unreadable one is stale. */
const UNREADABLE_GRACE_MS = 10_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process that its parent has not collected yet (a zombie) still answers signals; Linux says so.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

async function readLock(path: string): Promise<LockRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(path, 'utf8')) as Partial<LockRecord>;
    if (Number.isSafeInteger(record.pid) && typeof record.host === 'string') return record as LockRecord;
  } catch {
    // unreadable: handled by the caller
  }
  return undefined;
}

/** True when the lock at `path` belongs to no running process (false when it cannot be told). */
async function isStale(path: string, record: LockRecord | undefined): Promise<boolean> {
  if (!record) {
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => Number.POSITIVE_INFINITY,
    );
    return age > UNREADABLE_GRACE_MS;
  }
  return record.host === hostname() && record.pid !== process.pid && !isAlive(record.pid);
}

async function createLock(path: string, record: LockRecord): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw await writeFailure(path, error);
  }
  try {
    await handle.writeFile(`${JSON.stringify(record)}\n`);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw await writeFailure(path, error);
  }
  await handle.close();
  return true;
}

export async function acquireOutputLock(path: string, output: string): Promise<OutputLock> {
  const record: LockRecord = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await createLock(path, record)) return heldLock(path);
    const holder = await readLock(path);
    if (!(await isStale(path, holder))) {
      const who = holder
        ? `process ${holder.pid} on ${holder.host}, started ${holder.started}`
        : 'a process that is starting';
      throw new OutputFolderError(
        `another sparsegpt run is writing to ${output} (${who}). Wait for it to finish or choose another --out; ` +
          `if no such run exists any more, delete ${path}.`,
      );
    }
    await unlink(path).catch(() => undefined);
  }
  throw new OutputFolderError(`could not take the lock ${path}: another run took it at the same moment`);
}

function heldLock(path: string): OutputLock {
  const ours = async () => (await readLock(path))?.pid === process.pid;
  // A process that ends without releasing (an uncaught error, process.exit) still removes its lock.
  const onExit = () => {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);
  return {
    path,
    async release() {
      process.off('exit', onExit);
      if (await ours()) await unlink(path).catch(() => undefined);
    },
  };
}

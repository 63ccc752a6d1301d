/**
 * `prune --json FILE`: the run's result as JSON. The path is checked before the run starts (its folder exists and
 * can be written, it is not a folder itself), so a typo never costs a finished run.
 */
import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from './command';

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function checkWritableFile(path: string, option: string): Promise<void> {
  const target = resolve(path);
  const folder = dirname(target);
  const folderStats = await statOrUndefined(folder);
  if (!folderStats) throw new UsageError(`${option} ${path}: the folder ${folder} does not exist`);
  if (!folderStats.isDirectory())
    throw new UsageError(`${option} ${path}: ${folder} is a file, not a folder`);
  const existing = await statOrUndefined(target);
  if (existing?.isDirectory()) throw new UsageError(`${option} ${path} is a folder: give a file name`);
  try {
    await access(existing ? target : folder, constants.W_OK);
  } catch {
    throw new UsageError(
      `${option} ${path}: ${existing ? 'the file' : `the folder ${folder}`} is not writable`,
    );
  }
}

/** Typed arrays (mask previews) are left out. */
function jsonReplacer(key: string, value: unknown): unknown {
  return key === 'mask' ? undefined : value;
}

export async function writeJsonFile(path: string, record: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(record, jsonReplacer, 2)}\n`);
}

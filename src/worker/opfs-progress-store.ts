/**
 * A run's saved blocks in the origin private file system, so that a run survives a lost GPU device, a crashed tab
 * or a reload: the core's file progress store over one OPFS folder per run.
 */

import { directorySinkFactory, directorySource } from '../browser/files';
import { progressDirectory } from '../browser/opfs';
import {
  fileProgressStore,
  type ProgressIdentity,
  type ProgressStore,
} from '../core/pipeline/progress-store';

/**
 * Blocks are written through createWritable rather than sync access handles: the browser writes a swap file and
 * renames it on close, so a tab killed part-way through a save leaves no truncated block behind.
 */
export async function opfsProgressStore(folder: string, identity: ProgressIdentity): Promise<ProgressStore> {
  const directory = await progressDirectory(folder, true);
  return fileProgressStore(identity, directorySinkFactory(directory), directorySource(directory));
}

/**
 * The latest run's layer explorer in the origin private file system, so that a reload brings it back without a
 * new run: saved when the run succeeds (replacing the one before), loaded on request.
 */
import { directorySinkFactory, directorySource } from '../browser/files';
import { explorerDirectory, removeExplorerFolders } from '../browser/opfs';
import type { GpuContext } from '../core/gpu/context';
import type { LayerExplorer } from '../core/pipeline/explorer';
import { loadExplorer, saveExplorer } from '../core/pipeline/explorer-file';

/** Saves the run's explorer; a failure (storage full) only means it will not come back after a reload. */
export async function saveRunExplorer(runId: string, explorer: LayerExplorer): Promise<void> {
  try {
    await removeExplorerFolders({ keep: runId });
    await saveExplorer(explorer, directorySinkFactory(await explorerDirectory(runId, true)));
  } catch {
    await removeExplorerFolders({ folder: runId }).catch(() => undefined);
  }
}

/** The saved explorer of a run, prepared on `ctx`; undefined when none is kept. */
export async function loadRunExplorer(ctx: GpuContext, runId: string): Promise<LayerExplorer | undefined> {
  let directory: FileSystemDirectoryHandle;
  try {
    directory = await explorerDirectory(runId, false);
  } catch {
    return undefined;
  }
  return loadExplorer(ctx, directorySource(directory));
}

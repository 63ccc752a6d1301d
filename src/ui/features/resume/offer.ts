/**
 * The unfinished-run record and its saved blocks: offered for resuming when the page loads or a run stops in a
 * way that can be resumed, forgotten when discarded. Browser storage is reached through src/browser/opfs.ts.
 */
import {
  countSavedBlocks,
  listProgressFolders,
  removeProgressFolder,
  removeRunFolder,
} from '../../../browser/opfs';
import { useRunStore } from '../../../store/run';
import { unfinishedRuns, useResumeStore } from '../../../store/unfinished';

/**
 * Offers the recorded unfinished run when its saved blocks are still in storage, forgets it otherwise, and removes
 * saved blocks no record points to (left by runs stopped at once or by older pages).
 */
export async function offerUnfinishedRun(): Promise<void> {
  const run = await unfinishedRuns.read();
  const doneBlocks = run ? await countSavedBlocks(run.progressFolder).catch(() => undefined) : undefined;
  if (run && doneBlocks === undefined) await unfinishedRuns.clear(run.progressFolder).catch(() => undefined);
  const active = () => useRunStore.getState().active;
  // The interrupted run's half-written output is of no use: a resumed run writes a new one.
  if (run && run.runId !== active()?.runId) await removeRunFolder(run.runId).catch(() => undefined);
  const recorded = run && doneBlocks !== undefined ? run.progressFolder : undefined;
  for (const folder of await listProgressFolders().catch(() => [])) {
    // The run in progress (possibly started while this looked) keeps its folder.
    if (folder === recorded || folder === active()?.progressFolder) continue;
    await removeProgressFolder(folder).catch(() => undefined);
  }
  if (run && doneBlocks !== undefined) useResumeStore.getState().offerRun({ run, doneBlocks });
  else useResumeStore.getState().withdraw();
}

export async function discardUnfinished(): Promise<void> {
  const offer = useResumeStore.getState().offer;
  useResumeStore.getState().withdraw();
  if (!offer) return;
  await unfinishedRuns.clear(offer.run.progressFolder).catch(() => undefined);
  await removeProgressFolder(offer.run.progressFolder).catch(() => undefined);
}

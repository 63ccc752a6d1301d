/** Past runs: recorded when a run finishes; their files kept in browser storage for the newest few. */
import { removeExplorerFolders, removeRunFolder } from '../../../browser/opfs';
import { type RunRecord, useHistoryStore } from '../../../store/history';

/** Records a finished run and removes the output files of runs that fall out of the kept few. */
export async function recordRun(record: RunRecord): Promise<void> {
  const toRemove = await useHistoryStore.getState().add(record);
  for (const old of toRemove) await removeRunFolder(old.outputFolder).catch(() => undefined);
}

export async function removeHistoryRun(record: RunRecord): Promise<void> {
  if (record.outputKept) await removeRunFolder(record.outputFolder).catch(() => undefined);
  await removeExplorerFolders({ folder: record.id }).catch(() => undefined);
  await useHistoryStore.getState().remove(record.id);
}

export async function removeHistoryOutput(record: RunRecord): Promise<void> {
  await removeRunFolder(record.outputFolder).catch(() => undefined);
  await useHistoryStore.getState().markOutputRemoved(record.id);
}

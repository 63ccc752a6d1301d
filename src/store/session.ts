/**
 * What the page had open, kept in IndexedDB so that a reload comes back to it: the model (the demo reopens by
 * itself; a dropped folder is asked for again, since a browser keeps no access to dropped files) and the run whose
 * result was shown (read back from history).
 */
import { create } from 'zustand';
import type { ModelStatus } from './model';
import { defaultStore, type KeyValueStore } from './persist';
import type { RecordedModel } from './unfinished';

export interface LastSession {
  version: 1;
  model?: RecordedModel;
  /** The history record of the run shown in the result card. */
  runId?: string;
}

const KEY = 'last';

function isLastSession(value: unknown): value is LastSession {
  return !!value && typeof value === 'object' && (value as LastSession).version === 1;
}

export interface LastSessionStorage {
  read(): Promise<LastSession>;
  save(patch: Omit<Partial<LastSession>, 'version'>): Promise<void>;
}

export function lastSessionStorage(storage: KeyValueStore): LastSessionStorage {
  let saving: Promise<void> = Promise.resolve();
  const read = async (): Promise<LastSession> => {
    try {
      const value = await storage.get<unknown>(KEY);
      return isLastSession(value) ? value : { version: 1 };
    } catch {
      return { version: 1 }; // storage refused (private mode): nothing to come back to
    }
  };
  return {
    read,
    save(patch) {
      // Saves are chained so that an older one never lands after a newer one.
      saving = saving
        .then(async () => storage.set(KEY, { ...(await read()), ...patch, version: 1 }))
        .catch(() => undefined);
      return saving;
    },
  };
}

/** What a run or a later visit needs to know of the open model to recognise it again. */
export function recordedModel(status: ModelStatus): RecordedModel | undefined {
  if (status.kind !== 'ready') return undefined;
  const { summary, opened } = status;
  const { fingerprint } = summary;
  if (opened.source === 'demo') return { kind: 'demo', name: summary.name, fingerprint };
  return {
    kind: 'files',
    fingerprint,
    name: summary.name,
    folderName: opened.folderName,
    files: opened.files.map(({ path, file }) => ({ path, size: file.size })),
  };
}

export interface SessionState {
  /** The dropped folder the last visit had open, until it is picked again or another model is opened. */
  reopen?: Extract<RecordedModel, { kind: 'files' }>;
  /** The shown run whose explorer comes back once its model is open again. */
  explorerRun?: { runId: string; modelName: string };
  setReopen(reopen: SessionState['reopen']): void;
  setExplorerRun(explorerRun: SessionState['explorerRun']): void;
}

export const useSessionStore = create<SessionState>((set) => ({
  reopen: undefined,
  explorerRun: undefined,
  setReopen: (reopen) => set({ reopen }),
  setExplorerRun: (explorerRun) => set({ explorerRun }),
}));

export const lastSession = lastSessionStorage(defaultStore('session'));

/**
 * The run in progress, recorded in IndexedDB when it starts and cleared when it succeeds or is cancelled: after a
 * reload or a crashed tab, a record still here (with its saved blocks in the origin private file system) is a run
 * the page offers to resume. It holds everything needed to start the same run again: the settings, both texts
 * verbatim (so a changed bundled sample can never mix into a resumed run), and which model it was.
 */
import { create } from 'zustand';
import type { PruneSettings } from '../core/pipeline/types';
import { defaultStore, type KeyValueStore } from './persist';
import type { TextSource } from './texts';

export interface RecordedFile {
  path: string;
  size: number;
}

export type RecordedModel =
  | { kind: 'demo'; name: string }
  /** Files a browser does not let a page keep across reloads: the user picks the folder again, checked by these. */
  | { kind: 'files'; name: string; folderName?: string; files: RecordedFile[] };

export interface UnfinishedRun {
  version: 1;
  runId: string;
  /** The OPFS folder under "progress/" holding the finished blocks; a resumed run keeps its predecessor's. */
  progressFolder: string;
  startedAt: number;
  model: RecordedModel;
  /** Transformer blocks of the model, for "N of M blocks done". */
  blocks: number;
  settings: PruneSettings;
  calibration: TextSource;
  evaluation: TextSource;
}

const KEY = 'current';

export interface UnfinishedRunStorage {
  read(): Promise<UnfinishedRun | undefined>;
  write(run: UnfinishedRun): Promise<void>;
  /** Clears the record if it is still the one of this progress folder. */
  clear(progressFolder: string): Promise<void>;
}

function isUnfinishedRun(value: unknown): value is UnfinishedRun {
  if (!value || typeof value !== 'object') return false;
  const run = value as Partial<UnfinishedRun>;
  return (
    run.version === 1 &&
    typeof run.runId === 'string' &&
    typeof run.progressFolder === 'string' &&
    typeof run.blocks === 'number' &&
    !!run.settings &&
    !!run.model &&
    typeof run.calibration?.text === 'string' &&
    typeof run.evaluation?.text === 'string'
  );
}

export function unfinishedRunStorage(storage: KeyValueStore): UnfinishedRunStorage {
  return {
    async read() {
      try {
        const value = await storage.get<unknown>(KEY);
        return isUnfinishedRun(value) ? value : undefined;
      } catch {
        return undefined; // storage refused (private mode): nothing to resume
      }
    },
    async write(run) {
      await storage.set(KEY, run);
    },
    async clear(progressFolder) {
      const current = await storage.get<UnfinishedRun>(KEY).catch(() => undefined);
      if (current && current.progressFolder !== progressFolder) return;
      await storage.delete(KEY);
    },
  };
}

/** Why a picked folder is not the one the run used, in words; empty when every recorded file is there unchanged. */
export function compareModelFiles(recorded: RecordedFile[], picked: RecordedFile[]): string[] {
  const sizes = new Map(picked.map((f) => [f.path, f.size]));
  const problems: string[] = [];
  for (const { path, size } of recorded) {
    const now = sizes.get(path);
    if (now === undefined) problems.push(`${path} is missing`);
    else if (now !== size) problems.push(`${path} has ${now} bytes instead of ${size}`);
  }
  return problems;
}

export type ResumeStatus = 'offered' | 'needs-files' | 'resuming';

export interface ResumeOffer {
  run: UnfinishedRun;
  doneBlocks: number;
}

export interface ResumeState {
  offer?: ResumeOffer;
  status: ResumeStatus;
  error?: string;
  offerRun(offer: ResumeOffer): void;
  setStatus(status: ResumeStatus, error?: string): void;
  withdraw(): void;
}

export const useResumeStore = create<ResumeState>((set) => ({
  status: 'offered',
  offerRun: (offer) => set({ offer, status: 'offered', error: undefined }),
  setStatus: (status, error) => set({ status, error }),
  withdraw: () => set({ offer: undefined, status: 'offered', error: undefined }),
}));

export const unfinishedRuns = unfinishedRunStorage(defaultStore('unfinished'));

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

export type RecordedModel = (
  | { kind: 'demo'; name: string }
  /** Files a browser does not let a page keep across reloads: the user picks the folder again, checked by these. */
  | { kind: 'files'; name: string; folderName?: string; files: RecordedFile[] }
) & {
  /**
   * The model's content fingerprint (ModelSummary.fingerprint, the core's modelFingerprint): a model opened to
   * resume must have the same one. Names and sizes alone cannot tell two fine-tunes of one base apart.
   */
  fingerprint: string;
};

/** Records of older pages (without a fingerprint) are not offered; their saved blocks are cleaned up. */
export const UNFINISHED_RUN_VERSION = 2;

export interface UnfinishedRun {
  version: typeof UNFINISHED_RUN_VERSION;
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
    run.version === UNFINISHED_RUN_VERSION &&
    typeof run.runId === 'string' &&
    typeof run.progressFolder === 'string' &&
    typeof run.blocks === 'number' &&
    !!run.settings &&
    typeof run.model?.fingerprint === 'string' &&
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

/**
 * Why the model now open cannot continue `run`, in words; undefined when it is the run's model. Compared by content
 * fingerprint, so a folder with the same file names and sizes but other weights is refused.
 */
export function modelMismatch(
  run: UnfinishedRun,
  summary: { name: string; layers: number; fingerprint: string },
): string | undefined {
  const expected = (run.model.kind === 'files' && run.model.folderName) || run.model.name;
  if (summary.fingerprint === run.model.fingerprint && summary.layers === run.blocks) return undefined;
  if (run.model.kind === 'demo') {
    return `The demo model changed since this run started (a new version of the page): discard the run.`;
  }
  return (
    `${summary.name} is not the model the run used: its weights, config or tokenizer differ from ${expected}'s ` +
    '(same file names and sizes are not enough). Pick the folder the run used.'
  );
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

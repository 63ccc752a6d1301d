/**
 * Past runs, kept in IndexedDB across reloads: settings, per-layer tables, perplexities and where the output is, so
 * that runs with different settings can be compared side by side.
 */
import { create } from 'zustand';
import type { LayerResult, PruneSettings } from '../core/pipeline/types';
import { defaultStore, type KeyValueStore } from './persist';

export interface RunRecord {
  id: string;
  createdAt: number;
  modelName: string;
  parameters?: number;
  settings: PruneSettings;
  /** Per-layer results without mask pictures (those are only for the live view). */
  layers: LayerResult[];
  densePerplexity?: number;
  prunedPerplexity?: number;
  overallSparsity: number;
  totalMs: number;
  calibration?: { nsamples: number; seqlen: number; textTokens: number };
  /** What the run said about itself (layers left dense, windows scored); absent in records of older pages. */
  notes?: string[];
  outputFolder: string;
  outputFiles: string[];
  downloadName: string;
  /** False once the output files were removed from browser storage (only the record remains). */
  outputKept: boolean;
}

/** How many runs' records are kept; older ones are dropped first. */
export const HISTORY_LIMIT = 50;
/** How many runs keep their pruned files in browser storage; each is model-sized. */
export const OUTPUTS_KEPT = 3;
/** Runs that may be compared side by side. */
export const COMPARE_LIMIT = 3;

export interface HistoryState {
  runs: RunRecord[];
  loaded: boolean;
  /** Runs picked for side-by-side comparison, oldest pick first. */
  compare: string[];
  load(): Promise<void>;
  /** Adds a run; returns the runs whose output files should now be removed to stay within OUTPUTS_KEPT. */
  add(record: RunRecord): Promise<RunRecord[]>;
  markOutputRemoved(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  toggleCompare(id: string): void;
}

export function newestFirst(runs: RunRecord[]): RunRecord[] {
  return [...runs].sort((a, b) => b.createdAt - a.createdAt);
}

export function createHistoryStore(storage: KeyValueStore) {
  return create<HistoryState>((set, get) => {
    const put = async (record: RunRecord) => {
      try {
        await storage.set(record.id, record);
      } catch {
        // Storage full or refused: the run still shows in this session.
      }
    };
    return {
      runs: [],
      loaded: false,
      compare: [],
      load: async () => {
        let stored: RunRecord[] = [];
        try {
          stored = (await storage.values<RunRecord>()).filter((r) => r && typeof r.id === 'string');
        } catch {
          stored = [];
        }
        // Runs added while loading (a quick first run) stay.
        const ids = new Set(get().runs.map((r) => r.id));
        set({ runs: newestFirst([...get().runs, ...stored.filter((r) => !ids.has(r.id))]), loaded: true });
      },
      add: async (record) => {
        const runs = newestFirst([record, ...get().runs.filter((r) => r.id !== record.id)]);
        const dropped = runs.slice(HISTORY_LIMIT);
        const kept = runs.slice(0, HISTORY_LIMIT);
        const outputsToRemove = kept.filter((r) => r.outputKept).slice(OUTPUTS_KEPT);
        const removedIds = new Set(outputsToRemove.map((r) => r.id));
        const next = kept.map((r) => (removedIds.has(r.id) ? { ...r, outputKept: false } : r));
        set({ runs: next, compare: get().compare.filter((id) => next.some((r) => r.id === id)) });
        await put(record);
        for (const r of next) if (removedIds.has(r.id)) await put(r);
        for (const r of dropped) await storage.delete(r.id).catch(() => undefined);
        return [...outputsToRemove, ...dropped.filter((r) => r.outputKept)];
      },
      markOutputRemoved: async (id) => {
        const record = get().runs.find((r) => r.id === id);
        if (!record) return;
        const updated = { ...record, outputKept: false };
        set({ runs: get().runs.map((r) => (r.id === id ? updated : r)) });
        await put(updated);
      },
      remove: async (id) => {
        set({ runs: get().runs.filter((r) => r.id !== id), compare: get().compare.filter((c) => c !== id) });
        await storage.delete(id).catch(() => undefined);
      },
      toggleCompare: (id) => {
        const { compare } = get();
        if (compare.includes(id)) set({ compare: compare.filter((c) => c !== id) });
        else set({ compare: [...compare, id].slice(-COMPARE_LIMIT) });
      },
    };
  });
}

export const useHistoryStore = createHistoryStore(defaultStore('runs'));

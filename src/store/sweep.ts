/**
 * The sweep the app is running (or ran last): its points in the order they run, the finished ones, and whether a
 * stop was asked for. Each point is a whole run through the run store; this store only keeps the queue.
 */
import { create } from 'zustand';
import type { PruneSettings } from '../core/settings/prune-settings';
import type { SweepPoint, SweepResult } from '../core/sweep/sweep';

export type SweepPhase = 'idle' | 'running' | 'stopping' | 'done' | 'stopped' | 'failed';

export interface SweepView {
  phase: SweepPhase;
  modelName?: string;
  /** The settings the points share (their method, pattern and sparsity are the point's). */
  settings?: PruneSettings;
  points: SweepPoint[];
  /** Index of the point running now. */
  current?: number;
  results: SweepResult[];
  calibration?: { nsamples: number; seqlen: number; textTokens: number };
  error?: string;
}

export interface SweepState extends SweepView {
  begin(modelName: string, settings: PruneSettings, points: SweepPoint[]): void;
  running(index: number): void;
  finished(result: SweepResult, calibration?: SweepView['calibration']): void;
  stopping(): void;
  end(error?: string): void;
}

export const useSweepStore = create<SweepState>((set, get) => ({
  phase: 'idle',
  points: [],
  results: [],
  begin: (modelName, settings, points) =>
    set({ phase: 'running', modelName, settings, points, results: [], current: 0, error: undefined }),
  running: (index) => set({ current: index }),
  finished: (result, calibration) =>
    set({ results: [...get().results, result], calibration: calibration ?? get().calibration }),
  stopping: () => {
    if (get().phase === 'running') set({ phase: 'stopping' });
  },
  end: (error) =>
    set({
      phase: error ? 'failed' : get().phase === 'stopping' ? 'stopped' : 'done',
      current: undefined,
      error,
    }),
}));

/** A sweep is queued or running: Prune and a second sweep wait. */
export function sweepBusy(phase: SweepPhase): boolean {
  return phase === 'running' || phase === 'stopping';
}

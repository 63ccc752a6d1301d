/** Page-wide state: whether the page has started its work, and the notice shown when the worker was replaced. */
import { create } from 'zustand';

export interface AppState {
  /** True once the page probed the GPU and loaded what it keeps (React's strict mode mounts twice). */
  started: boolean;
  /** Why the worker had to be replaced (it crashed, or a run was stopped at once), until dismissed. */
  restartNotice?: string;
  /** Marks the page started; false when it already was. */
  start(): boolean;
  setRestartNotice(notice: string | undefined): void;
}

export const useAppStore = create<AppState>((set, get) => ({
  started: false,
  restartNotice: undefined,
  start: () => {
    if (get().started) return false;
    set({ started: true });
    return true;
  },
  setRestartNotice: (restartNotice) => set({ restartNotice }),
}));

/** The model the user gave (demo, dropped or picked): what the worker understood of it, or why it could not. */
import { create } from 'zustand';
import type { ModelSummary } from '../core/pipeline/types';
import type { ModelFileInput } from '../worker/api';

export type ModelSource = 'demo' | 'files';

/** What the open model was made of, so that a run can record it and a resume can recognise it. */
export interface OpenedFiles {
  /** The name the model is opened under: the demo's, or the dropped or picked folder's (none for loose files). */
  folderName?: string;
  files: ModelFileInput[];
  source: ModelSource;
}

export type ModelStatus =
  | { kind: 'empty' }
  | { kind: 'loading'; label: string }
  | { kind: 'ready'; summary: ModelSummary; opened: OpenedFiles }
  | { kind: 'error'; message: string; label: string };

export interface ModelState {
  status: ModelStatus;
  /** Increases on every new load, so a slow older load never overwrites a newer one. */
  generation: number;
  loading(label: string): number;
  ready(generation: number, summary: ModelSummary, opened: OpenedFiles): void;
  failed(generation: number, message: string, label: string): void;
}

export const useModelStore = create<ModelState>((set, get) => ({
  status: { kind: 'empty' },
  generation: 0,
  loading: (label) => {
    const generation = get().generation + 1;
    set({ status: { kind: 'loading', label }, generation });
    return generation;
  },
  ready: (generation, summary, opened) => {
    if (generation === get().generation) {
      set({ status: { kind: 'ready', summary, opened } });
    }
  },
  failed: (generation, message, label) => {
    if (generation === get().generation) set({ status: { kind: 'error', message, label } });
  },
}));

export function readySummary(status: ModelStatus): ModelSummary | undefined {
  return status.kind === 'ready' ? status.summary : undefined;
}

export function openedFiles(status: ModelStatus): OpenedFiles | undefined {
  return status.kind === 'ready' ? status.opened : undefined;
}

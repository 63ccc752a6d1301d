/**
 * Generation after a run: which run's pruned output is compared with the open model, the prompt and the decoding
 * controls (kept across reloads), and the two continuations as they stream in from the worker.
 */
import { create } from 'zustand';
import { DEFAULT_SAMPLING_SETTINGS, type SamplingSettings } from '../core/generate/sampling';
import type { GenerateEvent, GenerateModel } from '../worker/api';
import { defaultStore, type KeyValueStore } from './persist';

/** A run whose pruned output generation reads. */
export interface GenerationTarget {
  runId: string;
  outputFolder: string;
  /** The model the run pruned: the open model must be it. */
  modelName: string;
  /** How the run is named to the user ("SparseGPT 50%, 10:42"). */
  label: string;
}

export interface GenerateControls extends SamplingSettings {
  prompt: string;
  maxTokens: number;
  /** Greedy ignores temperature, top-p and the seed; sampling needs a temperature above 0. */
  decoding: 'greedy' | 'sample';
}

export interface Continuation {
  text: string;
  tokens: number;
  tokensPerSecond?: number;
  stop?: 'eos' | 'max-tokens';
}

export type GenerationPhase = 'idle' | 'running' | 'stopping' | 'done' | 'stopped' | 'failed';

export interface GenerateState {
  /** Set from history, while the run shown then (`chosenOver`) is still shown; else the shown run's output. */
  chosen?: GenerationTarget;
  chosenOver?: string;
  controls: GenerateControls;
  /** The settings a field holds that cannot be used, with the message shown beside it. */
  problem?: { field: keyof GenerateControls; message: string };
  jobId?: string;
  phase: GenerationPhase;
  /** The target of the last generation (its panels say which run they show). */
  shown?: GenerationTarget;
  outputs: Record<GenerateModel, Continuation>;
  notes: string[];
  error?: string;
  choose(target: GenerationTarget | undefined, shownRunId: string | undefined): void;
  setControls(patch: Partial<GenerateControls>): void;
  setProblem(problem: GenerateState['problem']): void;
  started(jobId: string, target: GenerationTarget): void;
  received(jobId: string, events: GenerateEvent[]): void;
  stopping(jobId: string): void;
  finished(jobId: string, phase: 'done' | 'stopped' | 'failed', error?: string): void;
}

export const DEFAULT_GENERATE_CONTROLS: GenerateControls = {
  prompt: 'Once upon a time,',
  maxTokens: 64,
  decoding: 'greedy',
  ...DEFAULT_SAMPLING_SETTINGS,
  temperature: 0.8,
  topP: 0.95,
};

const EMPTY: Record<GenerateModel, Continuation> = {
  dense: { text: '', tokens: 0 },
  pruned: { text: '', tokens: 0 },
};

/** Saved controls merged over the defaults, field by field: a field of the wrong type (an older page's) is dropped. */
export function restoreControls(saved: unknown): GenerateControls {
  const restored = { ...DEFAULT_GENERATE_CONTROLS };
  if (!saved || typeof saved !== 'object') return restored;
  for (const [key, fallback] of Object.entries(DEFAULT_GENERATE_CONTROLS)) {
    const value = (saved as Record<string, unknown>)[key];
    if (typeof value === typeof fallback) (restored as Record<string, unknown>)[key] = value;
  }
  if (restored.decoding !== 'greedy' && restored.decoding !== 'sample') restored.decoding = 'greedy';
  return restored;
}

export function createGenerateStore(storage: KeyValueStore) {
  return create<GenerateState>((set, get) => {
    let edited = false;
    // The saved controls come back unless the user already changed one.
    void storage
      .get('controls')
      .then((saved) => {
        if (!edited && saved) set({ controls: restoreControls(saved) });
      })
      .catch(() => undefined);
    return {
      controls: DEFAULT_GENERATE_CONTROLS,
      phase: 'idle',
      outputs: EMPTY,
      notes: [],
      choose: (chosen, chosenOver) => set({ chosen, chosenOver }),
      setControls: (patch) => {
        edited = true;
        const controls = { ...get().controls, ...patch };
        set({ controls, problem: undefined });
        void storage.set('controls', controls).catch(() => undefined);
      },
      setProblem: (problem) => set({ problem }),
      started: (jobId, shown) =>
        set({
          jobId,
          shown,
          phase: 'running',
          outputs: EMPTY,
          notes: [],
          error: undefined,
          problem: undefined,
        }),
      received: (jobId, events) => {
        if (get().jobId !== jobId) return;
        const outputs = { ...get().outputs };
        const notes = [...get().notes];
        for (const event of events) {
          if (event.type === 'note') {
            notes.push(event.message);
            continue;
          }
          const before = outputs[event.model];
          outputs[event.model] = {
            text: before.text + event.text,
            tokens: event.tokens,
            tokensPerSecond: event.tokensPerSecond ?? before.tokensPerSecond,
            stop: event.stop,
          };
        }
        set({ outputs, notes });
      },
      stopping: (jobId) => {
        if (get().jobId === jobId && get().phase === 'running') set({ phase: 'stopping' });
      },
      finished: (jobId, phase, error) => {
        if (get().jobId === jobId) set({ phase, error });
      },
    };
  });
}

export const useGenerateStore = createGenerateStore(defaultStore('generate'));

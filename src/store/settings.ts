/**
 * The pruning settings the user is editing: kept across reloads in IndexedDB, checked as they change so the page can
 * say what is wrong before a run starts.
 */
import { create } from 'zustand';
import {
  ALLOCATIONS,
  type Allocation,
  DEFAULT_SETTINGS,
  EXPERT_CALIBRATIONS,
  OUTPUT_FORMATS,
  PRUNE_METHODS,
  type PruneSettings,
  QUANT_METHODS,
  QUANTIZATIONS,
  type SparsityPattern,
} from '../core/settings/prune-settings';
import { type ModelLimits, settingsProblems as validateSettings } from '../core/settings/validate';
import { defaultStore, type KeyValueStore } from './persist';

/**
 * The paper's calibration (128 × 2048 tokens) is sized for billion-parameter models on real GPUs. The app starts
 * smaller so that a first run (the bundled demo model, even on a software adapter sharing a busy CPU) is done well
 * within a minute: 16 × 128 = 2048 calibration tokens is still many more than the demo's widest layer has inputs
 * (172), so its Hessians are well determined. The advanced group says how to raise it.
 */
export const APP_DEFAULT_SETTINGS: PruneSettings = {
  ...DEFAULT_SETTINGS,
  nsamples: 16,
  seqlen: 128,
  evalMaxWindows: 16,
};

/**
 * The sparsity slider's range: past 95% a model is of no use, and the validator's own bound (below 1) stays
 * reachable from the CLI for sweeps.
 */
export const MAX_SPARSITY = 0.95;

export type PatternChoice = 'unstructured' | '2:4' | '4:8' | 'custom';

export interface NMPattern {
  n: number;
  m: number;
}

export function patternChoice(pattern: SparsityPattern): PatternChoice {
  if (pattern === 'unstructured') return 'unstructured';
  if (pattern.n === 2 && pattern.m === 4) return '2:4';
  if (pattern.n === 4 && pattern.m === 8) return '4:8';
  return 'custom';
}

export function patternFromChoice(choice: PatternChoice, custom: NMPattern): SparsityPattern {
  switch (choice) {
    case 'unstructured':
      return 'unstructured';
    case '2:4':
      return { n: 2, m: 4 };
    case '4:8':
      return { n: 4, m: 8 };
    case 'custom':
      return { n: custom.n, m: custom.m };
  }
}

/** What is wrong with the settings, in words (the core's one validator); empty when a run may start. */
export function settingsProblems(settings: PruneSettings, model: ModelLimits = {}): string[] {
  return validateSettings(settings, model).map((problem) => problem.message);
}

/** "layers.0., mlp.down_proj" → ["layers.0.", "mlp.down_proj"]. */
export function parseSkipLayers(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

interface Persisted {
  version: 1;
  settings: PruneSettings;
  choice: PatternChoice;
  custom: NMPattern;
}

const CHOICES: PatternChoice[] = ['unstructured', '2:4', '4:8', 'custom'];
const DEFAULT_CUSTOM: NMPattern = { n: 3, m: 8 };

const KEY = 'settings';

/** Settings read back from storage, field by field, so that an old or damaged record never breaks the page. */
export function restoreSettings(value: unknown): {
  settings: PruneSettings;
  choice: PatternChoice;
  custom: NMPattern;
} {
  const fallback = {
    settings: { ...APP_DEFAULT_SETTINGS },
    choice: patternChoice(APP_DEFAULT_SETTINGS.pattern),
    custom: { ...DEFAULT_CUSTOM },
  };
  if (!value || typeof value !== 'object' || (value as Persisted).version !== 1) return fallback;
  const stored = (value as Persisted).settings ?? {};
  const settings: PruneSettings = { ...APP_DEFAULT_SETTINGS };
  const numberKeys = [
    'sparsity',
    'nsamples',
    'seqlen',
    'blockSize',
    'percdamp',
    'seed',
    'evalMaxWindows',
    'owlThreshold',
    'owlLambda',
  ] as const;
  for (const key of numberKeys) {
    const v = stored[key];
    if (typeof v === 'number' && Number.isFinite(v)) settings[key] = v;
  }
  if (PRUNE_METHODS.includes(stored.method)) settings.method = stored.method;
  if (EXPERT_CALIBRATIONS.includes(stored.expertCalibration))
    settings.expertCalibration = stored.expertCalibration;
  if (QUANTIZATIONS.includes(stored.quantization)) settings.quantization = stored.quantization;
  if (QUANT_METHODS.includes(stored.quantMethod)) settings.quantMethod = stored.quantMethod;
  if (OUTPUT_FORMATS.includes(stored.format)) settings.format = stored.format;
  const p = stored.pattern as unknown;
  if (p === 'unstructured') settings.pattern = p;
  else if (
    p &&
    typeof p === 'object' &&
    Number.isInteger((p as NMPattern).n) &&
    Number.isInteger((p as NMPattern).m)
  ) {
    settings.pattern = { n: (p as NMPattern).n, m: (p as NMPattern).m };
  }
  if (Array.isArray(stored.skipLayers))
    settings.skipLayers = stored.skipLayers.filter((s) => typeof s === 'string');
  if (Array.isArray(stored.layerTargets)) {
    settings.layerTargets = stored.layerTargets
      .filter((t) => t && typeof t.layers === 'string' && typeof t.sparsity === 'number')
      .map((t) => ({ layers: t.layers, sparsity: t.sparsity }));
  }
  if (ALLOCATIONS.includes(stored.allocation as Allocation)) settings.allocation = stored.allocation;
  const c = (value as Persisted).custom;
  const custom = c && Number.isInteger(c.n) && Number.isInteger(c.m) ? { n: c.n, m: c.m } : fallback.custom;
  const storedChoice = (value as Persisted).choice;
  const choice = CHOICES.includes(storedChoice) ? storedChoice : patternChoice(settings.pattern);
  return { settings: { ...settings, pattern: patternFromChoice(choice, custom) }, choice, custom };
}

export interface SettingsState {
  settings: PruneSettings;
  /** Which pattern control is selected; "custom" may hold 2:4 too. */
  choice: PatternChoice;
  /** The custom N:M, remembered while another pattern is chosen. */
  custom: NMPattern;
  /** True once the stored settings were read (or found missing). */
  loaded: boolean;
  update(patch: Partial<PruneSettings>): void;
  choosePattern(choice: PatternChoice): void;
  setCustom(custom: NMPattern): void;
  reset(): void;
  load(): Promise<void>;
  /** Resolves when the latest change is stored. */
  flush(): Promise<void>;
}

export function createSettingsStore(storage: KeyValueStore) {
  let saving: Promise<void> = Promise.resolve();
  return create<SettingsState>((set, get) => {
    const save = () => {
      const { settings, choice, custom } = get();
      const record: Persisted = { version: 1, settings, choice, custom };
      // Saves are chained so an older write can never land after a newer one.
      saving = saving.then(() => storage.set(KEY, record)).catch(() => undefined);
    };
    const change = (partial: Partial<SettingsState>) => {
      set(partial);
      save();
    };
    return {
      settings: { ...APP_DEFAULT_SETTINGS },
      choice: patternChoice(APP_DEFAULT_SETTINGS.pattern),
      custom: { ...DEFAULT_CUSTOM },
      loaded: false,
      update: (patch) => change({ settings: { ...get().settings, ...patch } }),
      choosePattern: (choice) =>
        change({ choice, settings: { ...get().settings, pattern: patternFromChoice(choice, get().custom) } }),
      setCustom: (custom) => {
        const { settings, choice } = get();
        change({
          custom,
          settings: choice === 'custom' ? { ...settings, pattern: { ...custom } } : settings,
        });
      },
      reset: () =>
        change({
          settings: { ...APP_DEFAULT_SETTINGS },
          choice: patternChoice(APP_DEFAULT_SETTINGS.pattern),
          custom: { ...DEFAULT_CUSTOM },
        }),
      load: async () => {
        let stored: unknown;
        try {
          stored = await storage.get(KEY);
        } catch {
          stored = undefined; // storage refused (private mode): the defaults still work
        }
        set({ ...restoreSettings(stored), loaded: true });
      },
      flush: () => saving,
    };
  });
}

export const useSettingsStore = createSettingsStore(defaultStore('settings'));

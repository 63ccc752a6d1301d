import { describe, expect, it } from 'vitest';
import { memoryStore } from './persist';
import {
  APP_DEFAULT_SETTINGS,
  createSettingsStore,
  parseSkipLayers,
  patternChoice,
  restoreSettings,
  settingsProblems,
} from './settings';

describe('settings', () => {
  it('are kept across a reload (a new store over the same storage)', async () => {
    const storage = memoryStore();
    const first = createSettingsStore(storage);
    await first.getState().load();
    first.getState().update({ sparsity: 0.6, method: 'wanda', nsamples: 64 });
    first.getState().choosePattern('2:4');
    await first.getState().flush();

    const second = createSettingsStore(storage);
    expect(second.getState().loaded).toBe(false);
    await second.getState().load();
    const { settings, choice } = second.getState();
    expect(choice).toBe('2:4');
    expect(settings.pattern).toEqual({ n: 2, m: 4 });
    expect(settings.method).toBe('wanda');
    expect(settings.sparsity).toBe(0.6);
    expect(settings.nsamples).toBe(64);
  });

  it('remember a custom N:M while another pattern is chosen', async () => {
    const store = createSettingsStore(memoryStore());
    await store.getState().load();
    store.getState().choosePattern('custom');
    store.getState().setCustom({ n: 3, m: 8 });
    expect(store.getState().settings.pattern).toEqual({ n: 3, m: 8 });
    store.getState().choosePattern('unstructured');
    expect(store.getState().settings.pattern).toBe('unstructured');
    store.getState().setCustom({ n: 5, m: 8 });
    expect(store.getState().settings.pattern).toBe('unstructured');
    store.getState().choosePattern('custom');
    expect(store.getState().settings.pattern).toEqual({ n: 5, m: 8 });
  });

  it('start from the app defaults when storage is empty, damaged or refuses', async () => {
    expect(restoreSettings(undefined).settings).toEqual(APP_DEFAULT_SETTINGS);
    expect(restoreSettings({ version: 99 }).settings).toEqual(APP_DEFAULT_SETTINGS);
    const damaged = restoreSettings({
      version: 1,
      settings: {
        sparsity: 'lots',
        method: 'prayer',
        pattern: { n: 'x' },
        skipLayers: ['a', 3],
        seqlen: 256,
        expertCalibration: 'some',
      },
    });
    expect(damaged.settings.sparsity).toBe(APP_DEFAULT_SETTINGS.sparsity);
    expect(damaged.settings.method).toBe(APP_DEFAULT_SETTINGS.method);
    expect(damaged.settings.pattern).toBe('unstructured');
    expect(damaged.settings.skipLayers).toEqual(['a']);
    expect(damaged.settings.seqlen).toBe(256);
    expect(damaged.settings.expertCalibration).toBe('routed');
    const kept = restoreSettings({ version: 1, settings: { expertCalibration: 'all' } });
    expect(kept.settings.expertCalibration).toBe('all');
    // The output format is kept across reloads; one this page does not know falls back to the folder.
    expect(restoreSettings({ version: 1, settings: { format: 'gguf' } }).settings.format).toBe('gguf');
    expect(restoreSettings({ version: 1, settings: { format: 'zip' } }).settings.format).toBe('safetensors');

    const refusing = createSettingsStore({
      ...memoryStore(),
      get: () => Promise.reject(new Error('IndexedDB is disabled')),
    });
    await refusing.getState().load();
    expect(refusing.getState().loaded).toBe(true);
    expect(refusing.getState().settings).toEqual(APP_DEFAULT_SETTINGS);
  });

  it('keep the per-layer targets and the OWL allocation, dropping damaged entries', () => {
    const restored = restoreSettings({
      version: 1,
      settings: {
        layerTargets: [{ layers: 'mlp.down_proj', sparsity: 0.3 }, { layers: 3 }, null],
        allocation: 'owl',
        owlThreshold: 4,
        owlLambda: 0.1,
      },
    }).settings;
    expect(restored.layerTargets).toEqual([{ layers: 'mlp.down_proj', sparsity: 0.3 }]);
    expect(restored).toMatchObject({ allocation: 'owl', owlThreshold: 4, owlLambda: 0.1 });
    expect(restoreSettings({ version: 1, settings: { allocation: 'random' } }).settings.allocation).toBe(
      undefined,
    );
  });

  it('say what is wrong before a run starts', () => {
    expect(settingsProblems(APP_DEFAULT_SETTINGS)).toEqual([]);
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, sparsity: 1 })[0]).toMatch(
      /at least 0 and below 1 .*got 1\./,
    );
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, sparsity: -0.1 })[0]).toMatch(
      /at least 0 .*got -0\.1\./,
    );
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, pattern: { n: 4, m: 4 } })[0]).toMatch(
      /1 ≤ N < M .*got 4:4\./,
    );
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, pattern: { n: 0, m: 4 } })[0]).toMatch(
      /1 ≤ N < M .*got 0:4\./,
    );
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, nsamples: 0 })[0]).toMatch(
      /Calibration samples must be a whole number ≥ 1; got 0\./,
    );
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, seqlen: 1024 }, { maxPositions: 512 })[0]).toMatch(
      /from 2 to the model's 512 positions; got 1024\./,
    );
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, percdamp: 0 })[0]).toMatch(/Dampening/);
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, blockSize: 1.5 })[0]).toMatch(
      /block size must be a whole number/,
    );
    // GGUF output for a family llama.cpp cannot run: the model's own reason; the folder output stays fine.
    const opt = {
      ggufUnsupported: 'llama.cpp has no OPT architecture, so an OPT model cannot be written as GGUF.',
    };
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, format: 'gguf' }, opt)).toEqual([opt.ggufUnsupported]);
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, format: 'safetensors' }, opt)).toEqual([]);
    expect(settingsProblems({ ...APP_DEFAULT_SETTINGS, format: 'gguf' })).toEqual([]);
  });

  it('read the layers to skip from free text', () => {
    expect(parseSkipLayers(' layers.0., mlp.down_proj ;lm_head\n')).toEqual([
      'layers.0.',
      'mlp.down_proj',
      'lm_head',
    ]);
    expect(parseSkipLayers('')).toEqual([]);
  });

  it('name the pattern choice of a pattern', () => {
    expect(patternChoice('unstructured')).toBe('unstructured');
    expect(patternChoice({ n: 2, m: 4 })).toBe('2:4');
    expect(patternChoice({ n: 4, m: 8 })).toBe('4:8');
    expect(patternChoice({ n: 1, m: 4 })).toBe('custom');
  });
});

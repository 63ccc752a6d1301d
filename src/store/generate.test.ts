/** The generation store: controls kept across reloads (a wrong-typed saved field falls back), tokens folded per model. */
import { describe, expect, it } from 'vitest';
import { createGenerateStore, DEFAULT_GENERATE_CONTROLS, restoreControls } from './generate';
import { memoryStore } from './persist';

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('generation store', () => {
  it('keeps the controls across a reload; a field saved with the wrong type falls back to its default', async () => {
    const storage = memoryStore();
    const before = createGenerateStore(storage);
    await settle();
    before.getState().setControls({ prompt: 'A dog', maxTokens: 12, decoding: 'sample', seed: 9 });
    await settle();
    const after = createGenerateStore(storage);
    await settle();
    expect(after.getState().controls).toEqual({
      ...DEFAULT_GENERATE_CONTROLS,
      prompt: 'A dog',
      maxTokens: 12,
      decoding: 'sample',
      seed: 9,
    });
    expect(restoreControls({ prompt: 3, decoding: 'beam', topP: 0.5 })).toEqual({
      ...DEFAULT_GENERATE_CONTROLS,
      topP: 0.5,
    });
    expect(restoreControls(null)).toEqual(DEFAULT_GENERATE_CONTROLS);
  });

  it('an edit made before the saved controls load wins', async () => {
    const storage = memoryStore();
    await storage.set('controls', { ...DEFAULT_GENERATE_CONTROLS, prompt: 'saved' });
    const store = createGenerateStore(storage);
    store.getState().setControls({ prompt: 'typed' });
    await settle();
    expect(store.getState().controls.prompt).toBe('typed');
  });

  it('folds each model’s tokens into its own text; events of an older job are ignored', () => {
    const store = createGenerateStore(memoryStore());
    const target = { runId: 'r', outputFolder: 'r', modelName: 'm', label: 'run' };
    store.getState().started('job-1', target);
    store.getState().received('job-1', [
      { type: 'token', model: 'dense', text: ' Once', tokens: 1 },
      { type: 'token', model: 'pruned', text: ' The', tokens: 1 },
      { type: 'token', model: 'dense', text: ' upon', tokens: 2, tokensPerSecond: 5 },
      { type: 'note', message: 'slow' },
    ]);
    store.getState().received('job-0', [{ type: 'token', model: 'dense', text: ' stale', tokens: 9 }]);
    const { outputs, notes } = store.getState();
    expect(outputs.dense).toEqual({ text: ' Once upon', tokens: 2, tokensPerSecond: 5, stop: undefined });
    expect(outputs.pruned.text).toBe(' The');
    expect(notes).toEqual(['slow']);
    store.getState().finished('job-1', 'done');
    expect(store.getState().phase).toBe('done');
  });
});

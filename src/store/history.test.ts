import { describe, expect, it } from 'vitest';
import { createHistoryStore, HISTORY_LIMIT, OUTPUTS_KEPT, type RunRecord } from './history';
import { memoryStore } from './persist';
import { APP_DEFAULT_SETTINGS } from './settings';

const record = (i: number): RunRecord => ({
  id: `run-${i}`,
  createdAt: 1_700_000_000_000 + i * 1000,
  modelName: 'stories260K',
  settings: { ...APP_DEFAULT_SETTINGS, sparsity: 0.1 * (i % 9) },
  layers: [
    {
      block: 0,
      name: 'mlp.up_proj',
      tensor: 'model.layers.0.mlp.up_proj.weight',
      rows: 172,
      cols: 64,
      method: 'sparsegpt',
      sparsity: 0.5,
      relativeError: 0.01 * i,
      ms: 3,
    },
  ],
  prunedPerplexity: 10 + i,
  overallSparsity: 0.5,
  totalMs: 1000,
  outputFolder: `run-${i}`,
  outputFiles: ['model.safetensors'],
  downloadName: `stories260K-sparsegpt-${i}`,
  outputKept: true,
});

describe('run history', () => {
  it('is kept across reloads, newest first', async () => {
    const storage = memoryStore();
    const history = createHistoryStore(storage);
    await history.getState().load();
    await history.getState().add(record(1));
    await history.getState().add(record(2));

    const reloaded = createHistoryStore(storage);
    await reloaded.getState().load();
    expect(reloaded.getState().runs.map((r) => r.id)).toEqual(['run-2', 'run-1']);
    expect(reloaded.getState().runs[1].layers[0].relativeError).toBe(0.01);
  });

  it(`keeps the files of the ${OUTPUTS_KEPT} newest runs and says which outputs to remove`, async () => {
    const storage = memoryStore();
    const history = createHistoryStore(storage);
    await history.getState().load();
    const removed: string[] = [];
    for (let i = 1; i <= OUTPUTS_KEPT + 2; i++) {
      for (const r of await history.getState().add(record(i))) removed.push(r.id);
    }
    expect(removed).toEqual(['run-1', 'run-2']);
    const kept = history
      .getState()
      .runs.filter((r) => r.outputKept)
      .map((r) => r.id);
    expect(kept).toHaveLength(OUTPUTS_KEPT);
    const reloaded = createHistoryStore(storage);
    await reloaded.getState().load();
    expect(reloaded.getState().runs.find((r) => r.id === 'run-1')?.outputKept).toBe(false);
  });

  it(`drops the oldest records beyond ${HISTORY_LIMIT}`, async () => {
    const storage = memoryStore();
    const history = createHistoryStore(storage);
    await history.getState().load();
    for (let i = 0; i < HISTORY_LIMIT + 3; i++)
      await history.getState().add({ ...record(i), outputKept: false });
    expect(history.getState().runs).toHaveLength(HISTORY_LIMIT);
    expect((await storage.values()).length).toBe(HISTORY_LIMIT);
    expect(history.getState().runs.at(-1)?.id).toBe('run-3');
  });

  it('picks at most three runs to compare, and forgets deleted ones', async () => {
    const history = createHistoryStore(memoryStore());
    await history.getState().load();
    for (let i = 0; i < 5; i++) await history.getState().add(record(i));
    for (const id of ['run-0', 'run-1', 'run-2', 'run-3']) history.getState().toggleCompare(id);
    expect(history.getState().compare).toEqual(['run-1', 'run-2', 'run-3']);
    history.getState().toggleCompare('run-2');
    expect(history.getState().compare).toEqual(['run-1', 'run-3']);
    await history.getState().remove('run-3');
    expect(history.getState().compare).toEqual(['run-1']);
    expect(history.getState().runs.map((r) => r.id)).not.toContain('run-3');
  });
});

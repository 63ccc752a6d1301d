import { describe, expect, it } from 'vitest';
import { memoryStore } from './persist';
import { APP_DEFAULT_SETTINGS } from './settings';
import {
  compareModelFiles,
  modelMismatch,
  UNFINISHED_RUN_VERSION,
  type UnfinishedRun,
  unfinishedRunStorage,
} from './unfinished';

const run = (progressFolder: string): UnfinishedRun => ({
  version: UNFINISHED_RUN_VERSION,
  runId: progressFolder,
  progressFolder,
  startedAt: 0,
  model: {
    kind: 'files',
    name: 'tiny',
    folderName: 'tiny',
    files: [{ path: 'model.safetensors', size: 10 }],
    fingerprint: 'a'.repeat(64),
  },
  blocks: 5,
  settings: APP_DEFAULT_SETTINGS,
  calibration: { text: 'once upon a time', origin: 'pasted text' },
  evaluation: { text: '', origin: '' },
});

describe('unfinished run record', () => {
  it('keeps the run until the run of the same progress folder clears it', async () => {
    const storage = unfinishedRunStorage(memoryStore());
    expect(await storage.read()).toBeUndefined();
    await storage.write(run('a'));
    await storage.clear('b');
    expect((await storage.read())?.progressFolder).toBe('a');
    await storage.clear('a');
    expect(await storage.read()).toBeUndefined();
  });

  it('ignores a stored value that is not a run record', async () => {
    const kv = memoryStore();
    await kv.set('current', { version: 2, runId: 'x' });
    expect(await unfinishedRunStorage(kv).read()).toBeUndefined();
  });

  it('ignores a record of an older page, which has no model fingerprint', async () => {
    const kv = memoryStore();
    const { fingerprint: _, ...model } = run('a').model;
    await kv.set('current', { ...run('a'), version: 1, model });
    expect(await unfinishedRunStorage(kv).read()).toBeUndefined();
  });
});

describe('checking a folder picked again for a resume', () => {
  const recorded = [
    { path: 'config.json', size: 500 },
    { path: 'model.safetensors', size: 1_000_000 },
  ];
  it('accepts the same files, extra ones included', () => {
    expect(compareModelFiles(recorded, [...recorded, { path: 'README.md', size: 3 }])).toEqual([]);
  });
  it('names missing and changed files', () => {
    expect(compareModelFiles(recorded, [{ path: 'model.safetensors', size: 999 }])).toEqual([
      'config.json is missing',
      'model.safetensors has 999 bytes instead of 1000000',
    ]);
  });
});

describe('checking the model opened for a resume', () => {
  const recorded = run('a');
  it('accepts the same content under another folder name', () => {
    expect(
      modelMismatch(recorded, { name: 'renamed', layers: 5, fingerprint: 'a'.repeat(64) }),
    ).toBeUndefined();
  });
  it('refuses other content with the same names and sizes', () => {
    expect(modelMismatch(recorded, { name: 'tiny', layers: 5, fingerprint: 'b'.repeat(64) })).toMatch(
      /tiny is not the model the run used: its weights, config or tokenizer differ/,
    );
  });
});

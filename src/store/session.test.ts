import { describe, expect, it } from 'vitest';
import type { ModelSummary } from '../core/pipeline/types';
import { memoryStore } from './persist';
import { lastSessionStorage, recordedModel } from './session';

describe('the last visit', () => {
  it('keeps the open model and the shown run across a reload, each saved as it changes', async () => {
    const kv = memoryStore();
    const session = lastSessionStorage(kv);
    expect(await session.read()).toEqual({ version: 1 });
    void session.save({ model: { kind: 'demo', name: 'stories260K', fingerprint: 'f' } });
    await session.save({ runId: 'run-1' });
    const reloaded = lastSessionStorage(kv);
    expect(await reloaded.read()).toEqual({
      version: 1,
      model: { kind: 'demo', name: 'stories260K', fingerprint: 'f' },
      runId: 'run-1',
    });
    await kv.set('last', { version: 7 });
    expect(await reloaded.read()).toEqual({ version: 1 });
  });

  it('records a dropped folder by its files and content fingerprint, for the user to pick again', () => {
    const summary = { name: 'tiny', fingerprint: 'sha256:tiny' } as ModelSummary;
    const files = [{ path: 'config.json', file: new Blob(['{}']) }];
    expect(
      recordedModel({ kind: 'ready', summary, opened: { folderName: 'tiny', files, source: 'files' } }),
    ).toEqual({
      kind: 'files',
      fingerprint: 'sha256:tiny',
      name: 'tiny',
      folderName: 'tiny',
      files: [{ path: 'config.json', size: 2 }],
    });
    expect(recordedModel({ kind: 'ready', summary, opened: { files, source: 'demo' } })).toEqual({
      kind: 'demo',
      name: 'tiny',
      fingerprint: 'sha256:tiny',
    });
    expect(recordedModel({ kind: 'empty' })).toBeUndefined();
  });
});

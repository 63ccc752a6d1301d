import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validSpecs } from '../core/gpu/pipeline-memory';
import { cacheFolder, nodePipelineStore } from './pipeline-store';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-pipeline-store-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('remembered pipelines in the CLI cache folder', () => {
  it('keeps each key’s specs in pipelines.json, and reads a damaged file as empty (then overwrites it)', async () => {
    const store = nodePipelineStore(join(scratch, 'new', 'folder'));
    expect(await store.load('a')).toBeUndefined();
    await store.save('a', [{ code: 'x' }]);
    await store.save('b', [{ code: 'y', entryPoint: 'main', constants: { N: 2 } }]);
    expect(await store.load('a')).toEqual([{ code: 'x' }]);
    expect(await store.load('b')).toEqual([{ code: 'y', entryPoint: 'main', constants: { N: 2 } }]);
    const file = join(scratch, 'new', 'folder', 'pipelines.json');
    writeFileSync(file, '{"a": [{"code": ');
    expect(await store.load('a')).toBeUndefined();
    await store.save('a', [{ code: 'z' }]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ a: [{ code: 'z' }] });
  });

  it('keeps only well-formed specs of a stored value', () => {
    expect(validSpecs({ code: 'x' })).toEqual([]);
    expect(
      validSpecs([
        { code: 'x' },
        { code: 1 },
        null,
        { code: 'y', constants: { N: 'two' } },
        { code: 'z', entryPoint: 3 },
      ]),
    ).toEqual([{ code: 'x' }]);
  });

  it('lives in SPARSEGPT_CACHE_DIR, else XDG_CACHE_HOME/sparsegpt, else ~/.cache/sparsegpt', () => {
    const saved = { ...process.env };
    try {
      process.env.SPARSEGPT_CACHE_DIR = '/tmp/a';
      expect(cacheFolder()).toBe('/tmp/a');
      delete process.env.SPARSEGPT_CACHE_DIR;
      process.env.XDG_CACHE_HOME = '/tmp/b';
      expect(cacheFolder()).toBe('/tmp/b/sparsegpt');
      delete process.env.XDG_CACHE_HOME;
      expect(cacheFolder()).toMatch(/\/\.cache\/sparsegpt$/);
    } finally {
      process.env = saved;
    }
  });
});

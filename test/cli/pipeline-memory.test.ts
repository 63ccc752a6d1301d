/**
 * The pipelines a CLI run compiled are remembered (pipelines.json in the cache folder) and compiled ahead, all at
 * once, by the next run on the same adapter: a second `prune` process compiles nothing while it runs, where the
 * first compiled every pipeline as its first block met it. (A damaged cache file: src/node/pipeline-store.test.ts.)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, smallPruneArgs, userEnv } from '../cli';
import { writeTinyModelFolder } from '../model-folder';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-pipeline-memory-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface RunJson {
  timings: { pipelines: { count: number; ms: number } };
}

describe('prune remembers its GPU pipelines for the next run', () => {
  it('a second process compiles none of them during its run', async () => {
    const model = await writeTinyModelFolder(join(scratch, 'model'));
    const cache = join(scratch, 'cache');
    const env = userEnv({ SPARSEGPT_CACHE_DIR: cache });
    const prune = async (name: string) => {
      const json = join(scratch, `${name}.json`);
      const run = await runCli([...smallPruneArgs(model, join(scratch, name)), '--json', json, '--quiet'], {
        env,
      });
      expect(run.code, run.err).toBe(0);
      return JSON.parse(readFileSync(json, 'utf8')) as RunJson;
    };
    const first = await prune('first');
    expect(first.timings.pipelines.count).toBeGreaterThan(5);
    const remembered = join(cache, 'pipelines.json');
    expect(existsSync(remembered)).toBe(true);
    const [key, specs] = Object.entries(JSON.parse(readFileSync(remembered, 'utf8')))[0] as [
      string,
      unknown[],
    ];
    expect(key).toMatch(/\|(cpu|gpu)\|/);
    expect(specs.length).toBe(first.timings.pipelines.count);

    const second = await prune('second');
    expect(second.timings.pipelines).toMatchObject({ count: 0, ms: 0 });
  }, 240_000);
});

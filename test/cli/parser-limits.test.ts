/**
 * Hostile sizes through the real CLI: a checkpoint listing 300,000 zero-size tensors (a few MB) and a sharded
 * index of as many entries are read in time linear in their size, and `prune` goes through them; past the cap of
 * 500,000 tensors the reader says so instead of trying. The time bounds are generous (5-10× what the linear code
 * takes on a loaded 2-core machine: inspect 20 s, prune 60 s, mostly shader compilation) and far below the old
 * code's: its index grouping was quadratic (35 s for 30,000 entries here, so about an hour for 300,000), inspect
 * overflowed the stack, and the writer closed files in quadratic time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensorsHeader } from '../../src/core/io/safetensors-header';
import { fileByteSource } from '../../src/node/files';
import { runCli, smallPruneArgs } from '../cli';
import { writeTinyModelFolder } from '../model-folder';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-limits-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const MANY = 300_000;
const TOO_MANY = 500_001;

/** A safetensors file of `count` zero-size F32 tensors "z0", "z1", …: a short file with a huge tensor list. */
function zeroSizeTensors(path: string, count: number): void {
  const entries: string[] = [];
  for (let i = 0; i < count; i++) entries.push(`"z${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  const body = Buffer.from(`{${entries.join(',')}}`);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(body.length));
  writeFileSync(path, Buffer.concat([length, body]));
}

/** An index mapping the tiny model's own tensors to model.safetensors and `extra` z-tensors to extra.safetensors. */
async function writeIndex(folder: string, extra: number): Promise<void> {
  const header = await readSafetensorsHeader(await fileByteSource(join(folder, 'model.safetensors')));
  const weightMap: Record<string, string> = {};
  for (const tensor of header.tensors) weightMap[tensor.name] = 'model.safetensors';
  for (let i = 0; i < extra; i++) weightMap[`z${i}`] = 'extra.safetensors';
  writeFileSync(
    join(folder, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: weightMap }),
  );
}

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await run();
  return [result, (performance.now() - started) / 1000];
}

describe('parsers stay linear and capped', () => {
  it('inspects a file listing 300,000 zero-size tensors', async () => {
    const file = join(scratch, 'many.safetensors');
    zeroSizeTensors(file, MANY);
    const [result, seconds] = await timed(() => runCli(['inspect', file]));
    expect(result.err).not.toMatch(/call stack/);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/300000 tensors, 0 parameters/);
    expect(result.out).toMatch(/^z299999 +F32 +\[0\]$/m);
    expect(seconds).toBeLessThan(300);
  }, 400_000);

  it('inspects and prunes a sharded model whose index lists 300,000 entries', async () => {
    const model = await writeTinyModelFolder(join(scratch, 'sharded'), { layers: 2 });
    zeroSizeTensors(join(model, 'extra.safetensors'), MANY);
    await writeIndex(model, MANY);
    const [inspected, inspectSeconds] = await timed(() => runCli(['inspect', model, '--no-tensors']));
    expect(inspected.code).toBe(0);
    expect(inspected.out).toMatch(/2 shards via model\.safetensors\.index\.json: 300021 tensors/);
    expect(inspectSeconds).toBeLessThan(300);

    const out = join(scratch, 'sharded-out');
    const [pruned, pruneSeconds] = await timed(() => runCli(smallPruneArgs(model, out)));
    expect(pruned.err).not.toMatch(/error/i);
    expect(pruned.code).toBe(0);
    expect(pruneSeconds).toBeLessThan(600);
    const written = await runCli(['inspect', out, '--no-tensors']);
    expect(written.out).toMatch(/300021 tensors/);
  }, 1_200_000);

  it('refuses more tensors than the cap, in a header or in an index, with a message', async () => {
    const file = join(scratch, 'too-many.safetensors');
    zeroSizeTensors(file, TOO_MANY);
    const loose = await runCli(['inspect', file]);
    expect(loose.code).toBe(2);
    expect(loose.err).toMatch(
      /too-many\.safetensors lists 500,001 tensors, more than the 500,000 this tool reads .*damaged or not a model/,
    );
    const model = await writeTinyModelFolder(join(scratch, 'indexed'), { layers: 2 });
    await writeIndex(model, TOO_MANY);
    const indexed = await runCli(['inspect', model]);
    expect(indexed.code).toBe(2);
    expect(indexed.err).toMatch(
      /model\.safetensors\.index\.json lists 500,022 tensors, more than the 500,000/,
    );
  }, 300_000);
});

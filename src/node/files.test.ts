import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../core/io/checkpoint';
import { createCheckpointWriter } from '../core/io/checkpoint-writer';
import { directorySinkFactory, fileByteSink, fileByteSource, openFolder } from './files';

const sharedModel = resolve(new URL('../../../shared/models/stories260K', import.meta.url).pathname);
const scratch = await mkdtemp(join(tmpdir(), 'sparsegpt-files-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('Node files', () => {
  it('reads byte ranges and notices a file replaced after it was opened', async () => {
    const path = join(scratch, 'data.bin');
    await writeFile(
      path,
      Uint8Array.from({ length: 100 }, (_, i) => i),
    );
    const source = await fileByteSource(path, 'data.bin');
    expect(source.size).toBe(100);
    expect(Array.from(await source.read(10, 5))).toEqual([10, 11, 12, 13, 14]);
    await expect(source.read(98, 5)).rejects.toMatchObject({ code: 'read-failed' });
    await writeFile(path, new Uint8Array(100));
    await expect(source.read(0, 4)).rejects.toThrow(/data\.bin changed on disk/);
    await expect(fileByteSource(join(scratch, 'missing.bin'))).rejects.toMatchObject({
      code: 'missing-file',
    });
  });

  it('lists a folder with subfolders, skipping hidden entries, or a single file', async () => {
    const dir = join(scratch, 'model');
    await mkdir(join(dir, 'original'), { recursive: true });
    await mkdir(join(dir, '.git'), { recursive: true });
    await writeFile(join(dir, 'config.json'), '{}');
    await writeFile(join(dir, 'original', 'params.json'), '{}');
    await writeFile(join(dir, '.git', 'HEAD'), 'ref');
    await writeFile(join(dir, '.DS_Store'), '');
    await symlink(join(dir, 'config.json'), join(dir, 'linked.json'));
    const folder = await openFolder(dir);
    expect(folder.name).toBe('model');
    expect([...folder.files.keys()]).toEqual(['config.json', 'linked.json', 'original/params.json']);
    const single = await openFolder(join(dir, 'config.json'));
    expect([...single.files.keys()]).toEqual(['config.json']);
  });

  it('writes through a temporary file, renamed on close and deleted on abort', async () => {
    const target = join(scratch, 'out', 'model.safetensors');
    const sink = await fileByteSink(target);
    await sink.writeAt?.(4, new Uint8Array([5, 6]));
    await sink.writeAt?.(0, new Uint8Array([1, 2, 3, 4]));
    await expect(stat(target)).rejects.toThrow();
    expect((await readdir(join(scratch, 'out'))).some((name) => name.endsWith('.partial'))).toBe(true);
    await sink.close();
    expect(Array.from(await readFile(target))).toEqual([1, 2, 3, 4, 5, 6]);
    const again = await fileByteSink(target);
    await again.write(new Uint8Array([9, 9, 9]));
    await again.abort(new Error('cancelled'));
    expect(Array.from(await readFile(target))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await readdir(join(scratch, 'out'))).toEqual(['model.safetensors']);
    await expect(directorySinkFactory(join(scratch, 'out'))('../escape.json')).rejects.toMatchObject({
      code: 'bad-write',
    });
  });

  it('prunes-and-saves the shared model folder to disk: untouched bytes identical, other files copied', async () => {
    const input = await openCheckpoint(await openFolder(sharedModel));
    const out = join(scratch, 'pruned');
    const name = 'model.layers.1.self_attn.o_proj.weight';
    const writer = await createCheckpointWriter(input, directorySinkFactory(out), {
      metadata: { 'sparsegpt.method': 'magnitude' },
    });
    const weights = await input.readFloat32(name);
    await writer.writeTensor(
      name,
      weights.map((w) => (Math.abs(w) < 0.05 ? 0 : w)),
    );
    const report = await writer.finish();
    // Only files a model needs are copied: weights in other formats and unrelated files stay behind.
    expect(report.skipped.map((s) => s.path).sort()).toEqual([
      'PROVENANCE.md',
      'golden_llama2c.json',
      'stories260K.bin',
      'tok512.bin',
      'tok512.json',
    ]);
    expect((await readdir(out)).sort()).toEqual(['config.json', 'model.safetensors']);
    const output = await openCheckpoint(await openFolder(out));
    expect(output.tensors.map((t) => t.name)).toEqual(input.tensors.map((t) => t.name));
    for (const tensor of input.tensors) {
      if (tensor.name === name) continue;
      const a = Buffer.from(await input.readBytes(tensor.name));
      expect(a.equals(Buffer.from(await output.readBytes(tensor.name))), tensor.name).toBe(true);
    }
    const pruned = await output.readFloat32(name);
    expect(pruned.filter((w) => w === 0).length).toBeGreaterThan(0);
    expect(await readFile(join(out, 'config.json'))).toEqual(
      await readFile(join(sharedModel, 'config.json')),
    );
  });
});

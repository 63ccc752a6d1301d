/** `sparsegpt inspect` on the shared model, the demo folder, a single file and a broken folder. */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runCommand } from './index';

const repo = resolve(new URL('../../../', import.meta.url).pathname);
const sharedModel = resolve(repo, '../shared/models/stories260K');
const scratch = await mkdtemp(join(tmpdir(), 'sparsegpt-inspect-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...parts) => out.push(parts.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...parts) => err.push(parts.join(' ')));
  const code = await runCommand(['inspect', ...argv]);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

afterEach(() => vi.restoreAllMocks());

describe('sparsegpt inspect', () => {
  it('summarizes the shared stories260K folder and lists its tensors', async () => {
    const { code, out, err } = await run(sharedModel);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/architecture: llama \(llama family\), 5 layers, hidden 64, intermediate 172/);
    expect(out).toMatch(/attention: +8 heads, 4 kv heads, head_dim 8, RoPE θ=10000/);
    expect(out).toMatch(/tokenizer: +tok512\.bin \(llama2\.c\), 512 tokens, BOS 1 \(added\), EOS 2/);
    expect(out).toMatch(/weights: +model\.safetensors: 47 tensors, 260,032 parameters, 1\.0 MB \(F32\)/);
    expect(out).toMatch(/\nmodel\.layers\.4\.mlp\.up_proj\.weight +F32 +\[172, 64\]/);
    expect(out.split('\n').filter((line) => /^model\./.test(line))).toHaveLength(47);
  });

  it('reads the demo folder with its tokenizer.json, and a loose .safetensors file', async () => {
    const demo = await run(join(repo, 'public/demo/stories260K'), '--no-tensors');
    expect(demo.code).toBe(0);
    expect(demo.out).toMatch(/tokenizer: +tokenizer\.json, 512 tokens/);
    expect(demo.out).not.toMatch(/^model\./m);
    const loose = await run(join(sharedModel, 'model.safetensors'), '--no-tensors');
    expect(loose.code).toBe(0);
    expect(loose.out).toMatch(/weights: +model\.safetensors: 47 tensors/);
  });

  it('reports every problem of a broken folder and exits with 2', async () => {
    const dir = join(scratch, 'broken');
    await mkdir(dir);
    await copyFile(join(sharedModel, 'config.json'), join(dir, 'config.json'));
    await writeFile(
      join(dir, 'model.safetensors'),
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0, 0]),
    );
    const { code, out, err } = await run(dir);
    expect(code).toBe(2);
    expect(out).toMatch(/architecture: llama/);
    expect(err).toMatch(/error: tokenizer: broken has no tokenizer/);
    expect(err).toMatch(
      /error: weights: model\.safetensors is not a safetensors file: it looks like a PNG image/,
    );
  });

  it('is a usage error without a folder, or with one that does not exist', async () => {
    expect((await run()).code).toBe(2);
    const missing = await run(join(scratch, 'nothing-here'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot open .*nothing-here: the file does not exist/);
  });
});

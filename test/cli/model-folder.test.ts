/**
 * What `prune` reads from a model folder and what it copies into the output, through the real CLI: a symbolic
 * link that leaves the folder is refused (notes.txt -> /etc/passwd must never reach a model the user shares); the
 * Hugging Face cache layout (snapshots/<rev>/file -> ../../blobs/<hash>) works; only the files a model needs are
 * copied, as regular files.
 */
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, smallPruneArgs } from '../cli';
import { writeTinyModelFolder } from '../model-folder';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-folder-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('prune reads only the model folder', () => {
  it('refuses a symbolic link that leaves the folder and writes nothing', async () => {
    const model = await writeTinyModelFolder(join(scratch, 'linked'), { layers: 2 });
    const secret = join(scratch, 'secret.txt');
    writeFileSync(secret, 'password=hunter2');
    symlinkSync(secret, join(model, 'notes.txt'));
    const out = join(scratch, 'linked-out');
    const result = await runCli(smallPruneArgs(model, out));
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      /notes\.txt in .*linked is a symbolic link to .*secret\.txt, outside the model folder: refusing to read it/,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(scratch).filter((name) => name.startsWith('.'))).toEqual([]);
  }, 60_000);

  it('prunes a Hugging Face cache snapshot and copies only what a model needs, as plain files', async () => {
    // models--org--tiny/snapshots/<rev>/<file> -> ../../blobs/<hash>, as huggingface_hub lays out its cache.
    const plain = await writeTinyModelFolder(join(scratch, 'plain'), { layers: 2 });
    writeFileSync(join(plain, 'README.md'), '# tiny\n');
    writeFileSync(join(plain, 'LICENSE'), 'MIT\n');
    writeFileSync(join(plain, 'chat_template.jinja'), '{{ messages }}\n');
    writeFileSync(join(plain, 'generation_config.json'), '{"bos_token_id": 1}\n');
    writeFileSync(join(plain, 'notes.txt'), 'private notes\n');
    writeFileSync(join(plain, 'train.py'), 'print("hi")\n');
    writeFileSync(join(plain, 'pytorch_model.bin'), 'stale weights');
    const repository = join(scratch, 'hub', 'models--org--tiny');
    const snapshot = join(repository, 'snapshots', 'abc123');
    mkdirSync(join(repository, 'blobs'), { recursive: true });
    mkdirSync(snapshot, { recursive: true });
    for (const [index, name] of readdirSync(plain).entries()) {
      copyFileSync(join(plain, name), join(repository, 'blobs', `blob${index}`));
      symlinkSync(`../../blobs/blob${index}`, join(snapshot, name));
    }
    const out = join(scratch, 'hub-out');
    const result = await runCli(smallPruneArgs(snapshot, out));
    expect(result.err).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      '.sparsegpt-owner.json',
      'LICENSE',
      'README.md',
      'chat_template.jinja',
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    for (const name of readdirSync(out)) expect(lstatSync(join(out, name)).isFile(), name).toBe(true);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe('# tiny\n');
  }, 120_000);
});

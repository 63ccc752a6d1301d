/**
 * What `prune --out` may touch, through the real CLI: never the input (the same folder, reached through a trailing
 * slash, `..` or a link, with or without --force), nothing inside it, nothing that holds it; never a user's folder
 * called OUT or OUT.progress; and never an output another run is writing.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CALIBRATION, runCli, smallPruneArgs, startCli } from '../cli';
import { writeTinyModelFolder } from '../model-folder';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-out-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let model = '';

/** Every file under a folder with its SHA-256: what must not change. */
function snapshot(folder: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, `${prefix}${entry.name}/`);
      else result[prefix + entry.name] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(folder, '');
  return result;
}

beforeAll(async () => {
  model = await writeTinyModelFolder(join(scratch, 'model'), { layers: 2 });
});

describe('prune --out never touches an input', () => {
  it('refuses the input itself, inside it, or around it, however the path is written', async () => {
    const texts = join(scratch, 'texts');
    const textFile = join(texts, 'calibration.txt');
    mkdirSync(texts);
    writeFileSync(textFile, readFileSync(DEMO_CALIBRATION));
    const before = snapshot(scratch);
    symlinkSync(model, join(scratch, 'link-to-model'));
    const cases: Array<[string[], RegExp]> = [
      [
        smallPruneArgs(model, model, ['--force']),
        /--out .* is the model folder itself .*the input is never overwritten/,
      ],
      [smallPruneArgs(model, `${model}/`), /is the model folder itself/],
      [smallPruneArgs(model, join(model, '..', basename(model)), ['--force']), /is the model folder itself/],
      [smallPruneArgs(model, join(scratch, 'link-to-model'), ['--force']), /is the model folder itself/],
      [smallPruneArgs(model, join(model, 'pruned')), /is inside the model folder/],
      [smallPruneArgs(model, join(scratch, 'link-to-model', 'pruned')), /is inside the model folder/],
      [smallPruneArgs(model, scratch, ['--force']), /contains the model folder/],
      [smallPruneArgs(model, texts, ['--force'], textFile), /contains the calibration file/],
      [smallPruneArgs(model, textFile, ['--force'], textFile), /is the calibration file itself/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expect(result.err, args.join(' ')).toMatch(message);
      expect(result.code, args.join(' ')).toBe(2);
    }
    rmSync(join(scratch, 'link-to-model'));
    expect(snapshot(scratch)).toEqual(before);
    rmSync(texts, { recursive: true });
  }, 200_000);
});

describe('prune removes only what it made', () => {
  it('leaves a user folder called OUT.progress alone, with or without --resume', async () => {
    const out = join(scratch, 'mine');
    mkdirSync(`${out}.progress`);
    writeFileSync(join(`${out}.progress`, 'notes.txt'), 'my notes');
    for (const extra of [[], ['--resume'], ['--force']]) {
      const result = await runCli(smallPruneArgs(model, out, extra));
      expect(result.code).toBe(2);
      expect(result.err).toMatch(/mine\.progress exists but was not made by sparsegpt, .*it is left alone/);
      expect(readFileSync(join(`${out}.progress`, 'notes.txt'), 'utf8')).toBe('my notes');
    }
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it('does not let --force replace a folder it did not write', async () => {
    const out = join(scratch, 'photos');
    mkdirSync(out);
    writeFileSync(join(out, 'holiday.jpg'), 'not a model');
    const result = await runCli(smallPruneArgs(model, out, ['--force']));
    expect(result.code).toBe(2);
    expect(result.err).toMatch(
      /photos is not a model folder that sparsegpt wrote .*--force does not replace it/,
    );
    expect(readdirSync(out)).toEqual(['holiday.jpg']);
  }, 60_000);

  it('refuses a second run into an output that a running one holds, then replaces its own output with --force', async () => {
    const out = join(scratch, 'shared');
    const lock = join(scratch, '.shared.lock');
    const first = startCli(smallPruneArgs(model, out));
    const started = Date.now();
    while (!existsSync(lock) && first.child.exitCode === null && Date.now() - started < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const second = await runCli(smallPruneArgs(model, out, ['--force']));
    expect(second.code).toBe(2);
    expect(second.err).toMatch(/another sparsegpt run is writing to .*shared \(process \d+ on .*\)/);
    const done = await first.done;
    expect(done.err).not.toMatch(/error/i);
    expect(done.code).toBe(0);
    const written = snapshot(out);
    expect(Object.keys(written)).toContain('model.safetensors');

    // --force replaces an output this tool wrote (it carries the owner file) with the new one.
    writeFileSync(join(out, 'stale.txt'), 'from the earlier run');
    const again = await runCli(smallPruneArgs(model, out, ['--force', '--sparsity', '0.6']));
    expect(again.code).toBe(0);
    expect(existsSync(join(out, 'stale.txt'))).toBe(false);
    expect(snapshot(out)['model.safetensors']).not.toBe(written['model.safetensors']);
    expect(readdirSync(scratch).filter((name) => name.startsWith('.'))).toEqual([]);
  }, 300_000);
});

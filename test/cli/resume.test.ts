/**
 * `prune --resume` through the real CLI: a run killed with SIGKILL at two points (after block 1 and after block 3
 * were saved) and resumed each time writes the same bytes, file for file, as an uninterrupted run; a bit flipped
 * in a saved block is detected and that block pruned again; saved blocks of another model (same file names and
 * sizes) or another calibration text are refused; a progress folder is never silently started over.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliProcess, DEMO_CALIBRATION, runCli, smallPruneArgs, startCli } from '../cli';
import { writeTinyModelFolder } from '../model-folder';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-resume-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const BLOCKS = 8;

/** Every file of a folder (hidden ones included) by name, as SHA-256. */
function digests(folder: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of readdirSync(folder).sort()) {
    result[name] = createHash('sha256')
      .update(readFileSync(join(folder, name)))
      .digest('hex');
  }
  return result;
}

function savedBlocks(progress: string): string[] {
  return existsSync(progress) ? readdirSync(progress).filter((n) => /^block-\d+\.safetensors$/.test(n)) : [];
}

/** Polls until `path` exists; fails if the CLI ends first (the kill would then prove nothing). */
async function waitForFile(path: string, cli: CliProcess): Promise<void> {
  const started = Date.now();
  while (!existsSync(path)) {
    if (cli.child.exitCode !== null) {
      throw new Error(`the CLI ended (code ${cli.child.exitCode}) before ${path} appeared:\n${cli.err}`);
    }
    if (Date.now() - started > 150_000) throw new Error(`${path} did not appear:\n${cli.err}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('prune --resume after kill -9', () => {
  it('resumes twice and writes every file byte for byte as an uninterrupted run', async () => {
    const model = await writeTinyModelFolder(join(scratch, 'model'), { layers: BLOCKS });
    const reference = join(scratch, 'reference');
    const whole = await runCli(smallPruneArgs(model, reference));
    expect(whole.err).not.toMatch(/error/i);
    expect(whole.code).toBe(0);

    const out = join(scratch, 'out');
    const progress = `${out}.progress`;
    // First interruption: once block 1 is saved.
    const first = startCli(smallPruneArgs(model, out));
    await waitForFile(join(progress, 'block-0001.safetensors'), first);
    await first.kill();
    const afterFirst = savedBlocks(progress);
    expect(afterFirst.length).toBeGreaterThanOrEqual(2);
    expect(afterFirst.length).toBeLessThan(BLOCKS);
    expect(existsSync(out)).toBe(false);
    // The killed run's lock is left behind: the next run must see that its process is gone.
    expect(existsSync(join(scratch, '.out.lock'))).toBe(true);

    // Without --resume the saved blocks are neither used nor deleted.
    const refused = await runCli(smallPruneArgs(model, out));
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(
      new RegExp(`holds ${afterFirst.length} finished blocks of an interrupted run .*add --resume`),
    );
    expect(savedBlocks(progress)).toEqual(afterFirst);

    // Another model with the same file names and sizes, or another calibration text: refused, nothing deleted.
    const other = await writeTinyModelFolder(join(scratch, 'other'), { layers: BLOCKS, seed: 7 });
    expect(readFileSync(join(other, 'model.safetensors')).length).toBe(
      readFileSync(join(model, 'model.safetensors')).length,
    );
    const otherModel = await runCli([...smallPruneArgs(other, out), '--resume']);
    expect(otherModel.code).toBe(2);
    expect(otherModel.err).toMatch(/was saved by a run of another model/);
    const otherText = join(scratch, 'other.txt');
    writeFileSync(otherText, readFileSync(DEMO_CALIBRATION, 'utf8').replace('Once', 'Twice'));
    const otherCalibration = await runCli([...smallPruneArgs(model, out, [], otherText), '--resume']);
    expect(otherCalibration.code).toBe(2);
    expect(otherCalibration.err).toMatch(/was saved by a run of another calibration text/);
    expect(savedBlocks(progress)).toEqual(afterFirst);

    // Second interruption: resumed, killed once block 3 (or, when the first kill came late, the first block this
    // run prunes itself) is saved.
    const secondPoint = Math.max(3, afterFirst.length);
    expect(secondPoint).toBeLessThan(BLOCKS - 1);
    const second = startCli([...smallPruneArgs(model, out), '--resume']);
    await waitForFile(join(progress, `block-${String(secondPoint).padStart(4, '0')}.safetensors`), second);
    await second.kill();
    expect(second.err).toMatch(
      new RegExp(`Resuming: ${afterFirst.length} of ${BLOCKS} blocks were finished by the interrupted run`),
    );
    // The first run's blocks were used as saved, not found damaged and pruned again.
    expect(second.err).not.toMatch(/is damaged/);
    const afterSecond = savedBlocks(progress);
    expect(afterSecond.length).toBeGreaterThan(afterFirst.length);
    expect(afterSecond.length).toBeLessThan(BLOCKS);
    expect(existsSync(out)).toBe(false);

    // A bit flipped in a saved block (its last weight) is caught by the checksum and the block pruned again.
    const damaged = join(progress, 'block-0002.safetensors');
    const bytes = readFileSync(damaged);
    bytes[bytes.length - 1] ^= 0x01;
    writeFileSync(damaged, bytes);

    const third = await runCli([...smallPruneArgs(model, out), '--resume']);
    expect(third.code).toBe(0);
    expect(third.err).toMatch(/Saved block 2 is damaged \(its checksum does not match its contents\)/);
    expect(third.err.match(/is damaged/g)).toHaveLength(1);
    expect(digests(out)).toEqual(digests(reference));
    // Success leaves nothing behind: no progress folder, no lock, no staging folder.
    expect(existsSync(progress)).toBe(false);
    expect(readdirSync(scratch).filter((name) => name.startsWith('.'))).toEqual([]);
  }, 400_000);
});

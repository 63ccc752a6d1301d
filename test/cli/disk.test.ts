/**
 * An output disk that cannot take the model, through the real CLI: a read-only disk and a full one each get a
 * message that says so (a read-only disk used to say "ENOENT … mkdir"), and nothing half-written is left.
 * The disks are tmpfs mounts in a private mount namespace (unshare -rm), which needs no privileges where user
 * namespaces are enabled; where they are not, these tests are skipped, saying why.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, smallPruneArgs } from '../cli';
import { writeTinyModelFolder } from '../model-folder';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-disk-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Mounts a tmpfs with `options` at $1, runs the CLI, then lists what it left on that disk. */
function onDisk(mountOptions: string, disk: string): string[] {
  const script =
    `mount -t tmpfs -o ${mountOptions} tmpfs "$1" || exit 99; shift; "$@"; code=$?; ` +
    'echo "left on disk: [$(ls -A "$0" | tr "\\n" " ")]"; exit $code';
  return ['unshare', '-rm', 'sh', '-c', script.replaceAll('"$0"', `"${disk}"`), 'sh', disk];
}

const probe = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs tmpfs "${scratch}"`]);
const canMount = probe.status === 0;
if (!canMount) {
  console.warn(`disk tests skipped: no private tmpfs mounts here (${String(probe.stderr || probe.error)})`);
}

describe.skipIf(!canMount)('prune on a disk that cannot take the output', () => {
  it('says the disk is read-only, for the output folder and for folders to create on the way', async () => {
    const model = await writeTinyModelFolder(join(scratch, 'model'), { layers: 2 });
    const disk = join(scratch, 'read-only');
    mkdirSync(disk);
    for (const out of [join(disk, 'out'), join(disk, 'deeper', 'out')]) {
      const result = await runCli(smallPruneArgs(model, out), { wrapper: onDisk('ro', disk) });
      expect(result.err, out).toMatch(/cannot write .*: the disk is read-only .*Choose --out on a disk/);
      expect(result.err, out).not.toMatch(/ENOENT|EROFS|at .*\.ts:\d+/);
      expect(result.code, out).toBe(2);
    }
  }, 120_000);

  it('says the disk is full, leaves no partial model folder and keeps the finished blocks for --resume', async () => {
    const model = await writeTinyModelFolder(join(scratch, 'model-full'), { layers: 2 });
    const disk = join(scratch, 'full');
    mkdirSync(disk);
    // Room for the lock and the first saved blocks, not for the 137 kB model.
    const result = await runCli(smallPruneArgs(model, join(disk, 'out')), {
      wrapper: onDisk('size=64k', disk),
    });
    expect(result.err).toMatch(/could not write .*: the disk is full/);
    expect(result.err).not.toMatch(/ENOSPC|at .*\.ts:\d+/);
    expect(result.code).not.toBe(0);
    const left = /left on disk: \[(.*)\]/.exec(result.out)?.[1].trim().split(' ').filter(Boolean) ?? [];
    expect(left).toEqual(['out.progress']);
    expect(result.err).toMatch(
      /finished blocks? (is|are) kept in .*out\.progress: run the same command with --resume to continue/,
    );
  }, 120_000);
});

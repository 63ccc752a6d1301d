/**
 * Stopping the real CLI from outside: a signal during `prune` stops it within a layer, removes the partial output,
 * keeps OUT.progress/ for --resume and exits 128 + the signal number; the CLI is one process, so SIGKILL of its
 * PID leaves nothing running; a closed stdout is a quiet end; a bad --json path fails before the run starts.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, childrenOf, DEMO, DEMO_CALIBRATION, runCli, userEnv, waitForOutput } from '../../test/cli';
import { encodeSafetensors } from '../core/io/safetensors-write';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-signals-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const SMALL = ['--nsamples', '4', '--seqlen', '32'];
const firstLayerRow = (out: string) => /self_attn\.q_proj/.test(out);
const pruningStarted = (_out: string, err: string) => /Pruning \d+ blocks/.test(err);

/** Processes whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('signals and closed pipes', () => {
  // SIGTERM between two layers' rows; the others as soon as pruning starts (a shorter test, the same path).
  for (const [signal, code, when] of [
    ['SIGTERM', 143, firstLayerRow],
    ['SIGINT', 130, pruningStarted],
    ['SIGHUP', 129, pruningStarted],
  ] as const) {
    it(`${signal} during prune stops it, removes the partial output, keeps OUT.progress/ and exits ${code}`, async () => {
      const folder = join(scratch, signal);
      mkdirSync(folder);
      const out = join(folder, 'pruned');
      let children: number[] | undefined;
      const run = await runCli(['prune', DEMO, '--calib', DEMO_CALIBRATION, '--out', out, ...SMALL], {
        onStart: (child, output) => {
          waitForOutput(output, when).then(() => {
            children = childrenOf(child.pid as number);
            child.kill(signal);
          });
        },
      });
      expect(children).toEqual([]);
      expect(run.err).toMatch(new RegExp(`${signal}: stopping after the current layer`));
      expect(run.err).toMatch(new RegExp(`stopped \\(${signal}\\): the partial output was removed`));
      expect(run.code).toBe(code);
      expect(readdirSync(folder).sort()).toEqual(['pruned.progress']);
    }, 180_000);
  }

  it('SIGKILL of the CLI leaves no process of the run behind', async () => {
    const out = join(scratch, 'killed', 'pruned');
    mkdirSync(join(scratch, 'killed'));
    let survivors: number[] = [];
    const run = await runCli(['prune', DEMO, '--calib', DEMO_CALIBRATION, '--out', out, ...SMALL], {
      onStart: (child, output) => {
        waitForOutput(output, pruningStarted).then(() => child.kill('SIGKILL'));
      },
    });
    expect(run.signal).toBe('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    survivors = processesMentioning(out);
    expect(survivors).toEqual([]);
  }, 180_000);

  it('a closed stdout during prune stops the run like a signal and cleans up', () => {
    const folder = join(scratch, 'pipe');
    mkdirSync(folder);
    const out = join(folder, 'pruned');
    const args = ['prune', DEMO, '--calib', DEMO_CALIBRATION, '--out', out, ...SMALL].map((a) => `'${a}'`);
    const shell = spawnSync(
      'bash',
      ['-o', 'pipefail', '-c', `'${process.execPath}' '${CLI}' ${args.join(' ')} | head -1`],
      {
        env: userEnv(),
        encoding: 'utf8',
      },
    );
    expect(shell.stdout.trim()).toMatch(/^block +layer/);
    expect(shell.stderr).toMatch(/stopped \(the output pipe was closed\): the partial output was removed/);
    expect(shell.stderr).not.toMatch(/EPIPE|at .*\.(ts|js|mjs):\d+/);
    expect(shell.status).toBe(141);
    expect(readdirSync(folder)).toEqual(['pruned.progress']);
  }, 180_000);

  it('inspect | head -1 ends quietly, without an EPIPE stack trace', () => {
    // Enough tensors that the table is far larger than a pipe's buffer, so writes go on after head has exited.
    const tensors = Array.from({ length: 4000 }, (_, i) => ({
      name: `model.layers.${i}.some_rather_long_tensor_name.weight`,
      dtype: 'F32' as const,
      shape: [1],
      data: new Float32Array([i]),
    }));
    const file = join(scratch, 'many.safetensors');
    writeFileSync(file, encodeSafetensors(tensors));
    const shell = spawnSync(
      'bash',
      ['-o', 'pipefail', '-c', `'${process.execPath}' '${CLI}' inspect '${file}' | head -1`],
      {
        env: userEnv(),
        encoding: 'utf8',
      },
    );
    expect(shell.stdout).toBe('model:        many.safetensors (1 files)\n');
    expect(shell.stderr).toBe('');
    expect(shell.status).toBe(0);
  }, 60_000);

  it('a --json path that cannot be written fails before the run, with nothing written', async () => {
    const out = join(scratch, 'json', 'pruned');
    mkdirSync(join(scratch, 'json'));
    const base = ['prune', DEMO, '--calib', DEMO_CALIBRATION, '--out', out, ...SMALL];
    const missing = await runCli([...base, '--json', join(scratch, 'json', 'no-such-folder', 'result.json')]);
    expect(missing.err).toMatch(
      /^error: --json .*result\.json: the folder .*no-such-folder does not exist$/m,
    );
    expect(missing.err).not.toMatch(/Tokenizing|calibration:/);
    expect(missing.code).toBe(2);
    const folder = await runCli([...base, '--json', scratch]);
    expect(folder.err).toMatch(/^error: --json .* is a folder: give a file name$/m);
    expect(folder.code).toBe(2);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(scratch, 'json'))).toEqual([]);
  }, 60_000);
});

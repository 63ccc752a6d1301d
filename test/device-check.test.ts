/**
 * scripts/device-check.sh as the lead runs it on a new GPU machine, here in its --dry mode on the software adapter:
 * every step (adapter, solver benchmark, bench:e2e, the demo in headless Chromium) runs and its figures land in the
 * results file; a budget too small for the steps ends them with FAILED lines and exit code 1, not a hang.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, userEnv } from './cli';

const SCRIPT = join(REPO, 'scripts/device-check.sh');
const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-device-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const port = String(Number(process.env.E2E_PORT ?? 4174) + 2);

function runScript(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 1_100_000) {
  const run = spawnSync('bash', [SCRIPT, ...args], {
    cwd: REPO,
    env: userEnv(env),
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
}

describe('scripts/device-check.sh --dry', () => {
  it('runs every step on the software adapter and writes their figures', () => {
    const results = join(scratch, 'RESULTS.md');
    const run = runScript(['--dry', '--port', port, '--results', results]);
    expect(run.out).not.toMatch(/^FAILED/m);
    expect(run.code, run.out).toBe(0);
    for (const step of ['adapter', 'bench', 'bench-e2e', 'demo'])
      expect(run.out).toMatch(new RegExp(`^ok: ${step} \\(`, 'm'));
    const written = readFileSync(results, 'utf8');
    expect(written).toMatch(/^# Device check: .*\(dry run on the software adapter\)$/m);
    expect(written).toMatch(/^adapter: +google swiftshader/m);
    expect(written).toMatch(/^kernels: +cpu /m);
    expect(written).toMatch(/^whole solve \(prepare \+ prune/m);
    expect(written).toMatch(/^hidden 128, cold run on /m);
    expect(written).toMatch(/^whole run: .* GFLOP\/s = [\d.]+% of the matmul peak/m);
    expect(written).toMatch(/"demoRunSeconds":[\d.]+/);
  }, 1_200_000);

  it('a budget too small for the steps ends them with FAILED lines and exit code 1, not a hang', () => {
    const started = Date.now();
    const run = runScript(['--dry', '--port', port, '--results', join(scratch, 'short.md')], {
      DEVICE_CHECK_BUDGET_S: '12',
    });
    expect(run.code, run.out).toBe(1);
    // Whichever step the budget ends, it says so: on a loaded machine the adapter's or the benchmark's step runs out
    // of time mid-way; on a quiet one they finish and the next step is not started.
    expect(run.out).toMatch(
      /^FAILED: ([a-z-]+ timed out after \d+ s; last lines:|[a-z-]+ skipped: the 12-second budget is spent)$/m,
    );
    expect(Date.now() - started).toBeLessThan(90_000);
  }, 120_000);

  it('names an unknown argument', () => {
    const run = runScript(['--fast']);
    expect(run.code).toBe(2);
    expect(run.out).toMatch(/^FAILED: unknown argument --fast \(see --help\)$/m);
  });
});

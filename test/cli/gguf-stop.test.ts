/**
 * Stopping `prune --format gguf` while the file is being written (after every block is done): SIGINT ends the write,
 * the temporary .gguf and the spill of solved weights are removed, no .gguf is left, and the CLI exits 130 with the
 * line that says nothing was written. The tiny demo's write takes milliseconds, so the test paces it
 * (SPARSEGPT_TEST_WRITE_PAUSE_MS) to signal in the middle of it.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DEMO, runCli, smallPruneArgs, userEnv, waitForOutput } from '../cli';

const scratch = mkdtempSync(join(tmpdir(), 'gguf-stop-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('SIGINT during the GGUF write stops it, leaves no file behind and exits 130', {
  timeout: 300_000,
}, async () => {
  const out = join(scratch, 'stopped.gguf');
  let signalled = false;
  const run = await runCli(smallPruneArgs(DEMO, out, ['--sparsity', '0.5', '--quantize', 'q4_0']), {
    env: userEnv({ SPARSEGPT_TEST_WRITE_PAUSE_MS: '100' }),
    onStart: (child, output) => {
      void waitForOutput(output, (_out, err) => /Writing .*stopped\.gguf/.test(err), 280_000).then(() => {
        signalled = true;
        child.kill('SIGINT');
      });
    },
  });
  expect(signalled).toBe(true);
  expect({
    code: run.code,
    stopped: run.err.includes(`stopped (SIGINT): nothing was written to ${out}`),
  }).toEqual({
    code: 130,
    stopped: true,
  });
  expect(readdirSync(scratch)).toEqual([]);
});

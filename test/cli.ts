/** The CLI as a child process, as a user runs it: `node bin/sparsegpt.mjs …`. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

export function cli(args: string[]): { code: number; out: string; err: string } {
  const run = spawnSync(process.execPath, [join(ROOT, 'bin/sparsegpt.mjs'), ...args], { encoding: 'utf8' });
  return { code: run.status ?? -1, out: run.stdout, err: run.stderr };
}

#!/usr/bin/env node
// `npx sparsegpt …` from the repo: the CLI twin of the web app (same core, same WGSL).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const child = spawnSync(
  process.execPath,
  [join(here, 'run-ts.mjs'), join(here, '..', 'src', 'cli', 'main.ts'), ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
process.exit(child.status ?? 1);

#!/usr/bin/env node
// `sparsegpt …`: the command-line twin of the web app (same core, same WGSL), in this one process. The installed
// package runs the JavaScript built into dist-cli/ (`npm run build:cli`); a checkout, where src/ is present, runs
// the TypeScript sources directly, so that an edit never meets a stale build.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const built = new URL('../dist-cli/sparsegpt.mjs', import.meta.url);

async function fromSource() {
  try {
    const { registerTypeScript } = await import('./typescript-hooks.mjs');
    await registerTypeScript();
  } catch (error) {
    // A checkout installed without its dev dependencies (no tsx) still runs a build if there is one.
    if (error?.code === 'ERR_MODULE_NOT_FOUND' && existsSync(built)) return false;
    throw error;
  }
  await import(source.href);
  return true;
}

if (!existsSync(source) || !(await fromSource())) await import(built.href);

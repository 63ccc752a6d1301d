#!/usr/bin/env node
// Runs a TypeScript entry point of this repo (benchmarks, scripts) in this one process, with `?raw` WGSL imports.
// The GPU (or the SwiftShader fallback) is found in-process by src/node/gpu.ts.
import { pathToFileURL } from 'node:url';
import { registerTypeScript } from './typescript-hooks.mjs';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: run-ts.mjs ENTRY.ts [args…]');
  process.exit(2);
}
await registerTypeScript();
const target = new URL(entry, pathToFileURL(`${process.cwd()}/`));
process.argv = [process.argv[0], target.pathname, ...args];
await import(target.href);

#!/usr/bin/env node
// Runs a TypeScript entry point of this repo (CLI, benchmarks, scripts) with `?raw` WGSL imports,
// on the machine's GPU, or on SwiftShader (Debian's chromium) when Vulkan finds no adapter.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

const SWIFTSHADER_DIR = '/usr/lib/chromium';
const SWIFTSHADER_ICD = `${SWIFTSHADER_DIR}/vk_swiftshader_icd.json`;

// Probed in a child so that Dawn's "couldn't load Vulkan" warning does not reach the user.
function hasAdapter() {
  const webgpu = JSON.stringify(import.meta.resolve('webgpu'));
  const probe = `import(${webgpu}).then(async ({create}) => process.exit((await create([]).requestAdapter()) ? 0 : 3))`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { stdio: 'ignore' });
  return result.status === 0;
}

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: run-ts.mjs ENTRY.ts [args…]');
  process.exit(2);
}

if (!process.env.SPARSEGPT_GPU_PROBED) {
  // LD_LIBRARY_PATH is read when a process starts, so falling back to SwiftShader means running again.
  const needsFallback = !hasAdapter() && existsSync(SWIFTSHADER_ICD);
  if (needsFallback) {
    const env = {
      ...process.env,
      SPARSEGPT_GPU_PROBED: '1',
      VK_ICD_FILENAMES: SWIFTSHADER_ICD,
      LD_LIBRARY_PATH: [SWIFTSHADER_DIR, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    };
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1], entry, ...args], {
      stdio: 'inherit',
      env,
    });
    process.exit(child.status ?? 1);
  }
}

const { register: registerTsx } = await import('tsx/esm/api');
registerTsx();
register('./raw-loader.mjs', import.meta.url);
const target = new URL(entry, pathToFileURL(`${process.cwd()}/`));
process.argv = [process.argv[0], target.pathname, ...args];
await import(target.href);

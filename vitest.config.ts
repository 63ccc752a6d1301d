import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { swiftShaderEnv } from './src/node/swiftshader.ts';

// GPU tests run on a real GPU where Vulkan finds one; otherwise on SwiftShader from Debian's chromium.
// Forked test workers inherit this environment, which is why it is set here, before any worker starts.
// Set SPARSEGPT_NATIVE_GPU=1 to keep the machine's own Vulkan drivers.
if (!process.env.SPARSEGPT_NATIVE_GPU) {
  const env = swiftShaderEnv(process.env);
  if (env) Object.assign(process.env, env);
}

// The CLI processes that tests start remember their GPU pipelines (src/node/pipeline-store.ts) in a folder of
// their own, never in the user's ~/.cache.
process.env.SPARSEGPT_CACHE_DIR ??= join(tmpdir(), 'sparsegpt-test-cache');

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

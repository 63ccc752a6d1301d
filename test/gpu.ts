/** One shared GPU context per test file, created lazily and destroyed after the file's tests. */
import { afterAll } from 'vitest';
import type { GpuContext, GpuContextOptions } from '../src/core/gpu/context';
import { createNodeGpuContext } from '../src/node/gpu';

export function useGpu(options: GpuContextOptions = {}): () => Promise<GpuContext> {
  let pending: Promise<GpuContext> | undefined;
  afterAll(async () => {
    if (pending) (await pending).destroy();
  });
  return () => {
    pending ??= createNodeGpuContext(options);
    return pending;
  };
}

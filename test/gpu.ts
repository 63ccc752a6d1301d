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

/**
 * The kernel forms a context can run, each forced on this adapter so that both are tested on the software one:
 * the CPU forms, the GPU forms with subgroup reductions (SwiftShader has subgroups of 4), and without them.
 */
export const KERNEL_FORMS: Array<[string, GpuContextOptions]> = [
  ['cpu kernels', { kernels: 'cpu' }],
  ['gpu kernels', { kernels: 'gpu' }],
  ['gpu kernels without subgroups', { kernels: 'gpu', disableFeatures: ['subgroups'] }],
];

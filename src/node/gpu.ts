/**
 * Node's WebGPU: Dawn from the `webgpu` package. On machines without a GPU driver, bin/sparsegpt.mjs and
 * vitest.config.ts point Vulkan at SwiftShader (shipped in Debian's chromium) before this module loads.
 */
import { create, globals } from 'webgpu';
import { createGpuContext, type GpuContext, type GpuContextOptions } from '../core/gpu/context';

let gpu: GPU | undefined;

export function nodeGpu(): GPU {
  if (!gpu) {
    Object.assign(globalThis, globals);
    gpu = create([]) as GPU;
  }
  return gpu;
}

export function createNodeGpuContext(options: GpuContextOptions = {}): Promise<GpuContext> {
  return createGpuContext(nodeGpu(), options);
}

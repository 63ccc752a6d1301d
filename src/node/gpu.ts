/**
 * Node's WebGPU: Dawn from the `webgpu` package, on the machine's own GPU driver when there is one. On Linux
 * without one, the same process falls back to SwiftShader (Debian's chromium ships it as a Vulkan driver), so the
 * CLI, the scripts and the tests need no wrapper process. SPARSEGPT_NATIVE_GPU=1 turns the fallback off; a
 * VK_ICD_FILENAMES set by the caller (vitest.config.ts sets SwiftShader's) is used as it is.
 */
import { constants } from 'node:os';
import { create, globals } from 'webgpu';
import {
  createGpuContext,
  type GpuContext,
  type GpuContextOptions,
  WebGpuUnavailableError,
} from '../core/gpu/context';
import { SWIFTSHADER_DIR, SWIFTSHADER_ICD, swiftShaderPresent } from './swiftshader';

let gpu: Promise<GPU> | undefined;

/** Whether the system's Vulkan loader can be loaded at all (without it Dawn only prints a warning). */
function systemVulkanLoads(): boolean {
  try {
    process.dlopen({ exports: {} }, 'libvulkan.so.1', constants.dlopen.RTLD_LAZY);
  } catch (error) {
    // The loader is no Node addon: "did not self-register" means it was found and loaded.
    return /did not self-register/.test((error as Error).message);
  }
  return true;
}

/**
 * Points Vulkan at SwiftShader in this process: the ICD file through the environment (read when Dawn creates its
 * Vulkan instance) and chromium's Vulkan loader preloaded with global symbols and kept loaded (RTLD_NODELETE), so
 * that Dawn's own dlopen("libvulkan.so.1") finds it without LD_LIBRARY_PATH.
 */
function loadSwiftShader(): void {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const RTLD_NODELETE = 0x1000;
  const flags = constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  try {
    process.dlopen({ exports: {} }, `${SWIFTSHADER_DIR}/libvulkan.so.1`, flags);
  } catch (error) {
    if (!/did not self-register/.test((error as Error).message)) throw error;
  }
}

async function findGpu(): Promise<GPU> {
  Object.assign(globalThis, globals);
  const configured = Boolean(process.env.VK_ICD_FILENAMES) || Boolean(process.env.SPARSEGPT_NATIVE_GPU);
  const canFallBack = process.platform === 'linux' && !configured && swiftShaderPresent();
  if (!canFallBack || systemVulkanLoads()) {
    const native = create([]) as GPU;
    if (!canFallBack || (await native.requestAdapter({ powerPreference: 'high-performance' }))) return native;
  }
  loadSwiftShader();
  return create([]) as GPU;
}

export function nodeGpu(): Promise<GPU> {
  gpu ??= findGpu();
  return gpu;
}

export class NoGpuAdapterError extends Error {
  constructor() {
    super(
      process.platform === 'linux'
        ? "Dawn found no GPU adapter: install your GPU's Vulkan driver (mesa-vulkan-drivers, or the vendor's), or " +
            `Debian's chromium package, whose SwiftShader in ${SWIFTSHADER_DIR} runs on the CPU` +
            (process.env.SPARSEGPT_NATIVE_GPU ? ', and unset SPARSEGPT_NATIVE_GPU' : '')
        : 'Dawn found no GPU adapter (it uses Metal on macOS and D3D12 on Windows)',
    );
    this.name = 'NoGpuAdapterError';
  }
}

/** SPARSEGPT_KERNELS=cpu|gpu runs those kernel forms whatever the adapter (for comparing them on one machine). */
export function kernelsFromEnvironment(): GpuContextOptions['kernels'] {
  const asked = process.env.SPARSEGPT_KERNELS;
  if (asked === undefined || asked === '') return undefined;
  if (asked === 'cpu' || asked === 'gpu') return asked;
  throw new Error(`SPARSEGPT_KERNELS must be cpu or gpu (got "${asked}")`);
}

export async function createNodeGpuContext(options: GpuContextOptions = {}): Promise<GpuContext> {
  const kernels = options.kernels ?? kernelsFromEnvironment();
  try {
    return await createGpuContext(await nodeGpu(), { ...options, ...(kernels ? { kernels } : {}) });
  } catch (error) {
    throw error instanceof WebGpuUnavailableError ? new NoGpuAdapterError() : error;
  }
}

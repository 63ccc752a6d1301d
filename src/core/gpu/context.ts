/**
 * One GPU context for the whole core: the same code runs in a browser worker (navigator.gpu) and in Node
 * (the `webgpu` package). It requests the adapter's real limits instead of WebGPU's conservative defaults,
 * turns on the optional features the kernels can use, and describes the adapter in words for the UI.
 */
import { countUploads, emptyActivity, type GpuActivity } from './activity';

export interface GpuLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
}

export interface GpuFeatures {
  shaderF16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU/software implementations such as SwiftShader or WARP. */
  isSoftware: boolean;
  /** Human-readable one-liner, e.g. "google swiftshader (software adapter)". */
  name: string;
}

/**
 * Which form of the kernels that dominate a run (the forward's linears, the solver's lazy batch update) this
 * context runs: 'cpu', register-tiled with no workgroup memory or barriers, what a CPU-backed adapter rewards
 * (barriers cost it most; its caches share the loads); 'gpu', tiled GEMMs that share their tiles through
 * workgroup memory, with subgroup reductions where the device has subgroups, what GPUs reward.
 */
export type KernelTarget = 'cpu' | 'gpu';

/** The 'gpu' kernels' tiles: 256 invocations of a workgroup and 16 KiB of its memory. */
const GPU_KERNEL_NEEDS = { invocations: 256, workgroupBytes: 16 * 1024 };

export function chooseKernelTarget(adapter: AdapterSummary, limits: GpuLimits): KernelTarget {
  const fits =
    limits.maxComputeInvocationsPerWorkgroup >= GPU_KERNEL_NEEDS.invocations &&
    limits.maxComputeWorkgroupStorageSize >= GPU_KERNEL_NEEDS.workgroupBytes;
  return adapter.isSoftware || !fits ? 'cpu' : 'gpu';
}

export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterSummary;
  /** The kernel forms for this adapter (chooseKernelTarget), or the ones a test or benchmark asked for. */
  kernels: KernelTarget;
  /** Effective limits: the device's, or lower ones imposed for tests so that splitting code is exercised. */
  limits: GpuLimits;
  features: GpuFeatures;
  /** Resolves when the device is lost (destroyed, driver reset, out of memory). */
  lost: Promise<GPUDeviceLostInfo>;
  /** Bytes of GPU buffers alive now and at most so far (all buffers created through this device). */
  memory: GpuMemoryCounter;
  /** Pipelines compiled, bytes uploaded and read back so far (activity.ts). */
  activity: GpuActivity;
  destroy(): void;
}

export interface GpuMemoryCounter {
  current: number;
  peak: number;
  resetPeak(): void;
}

export interface GpuContextOptions {
  powerPreference?: GPUPowerPreference;
  /** Test-only: pretend the device has lower limits (e.g. a 1 MiB binding size) to prove large tensors are split. */
  testLimits?: Partial<GpuLimits>;
  /** Skip optional features (to test the f32 fallback paths on adapters that have f16). */
  disableFeatures?: Array<keyof GpuFeatures>;
  /** Run these kernel forms whatever the adapter (tests of both forms on one adapter; benchmarks). */
  kernels?: KernelTarget;
}

export class WebGpuUnavailableError extends Error {
  constructor(detail: string) {
    super(
      `WebGPU is not available in this browser: use Chrome or Edge 113+ (desktop), or Chrome 121+ on Android, ` +
        `with hardware acceleration enabled. On Linux, start Chrome with --enable-unsafe-webgpu ` +
        `(and --enable-features=Vulkan). ${detail}`,
    );
    this.name = 'WebGpuUnavailableError';
  }
}

const LIMIT_NAMES: Array<keyof GpuLimits> = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
];

const SOFTWARE_MARKERS = /swiftshader|llvmpipe|lavapipe|softpipe|warp|microsoft basic render|cpu/i;

export function describeAdapter(info: GPUAdapterInfo | undefined, isFallback: boolean): AdapterSummary {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const text = `${vendor} ${architecture} ${device} ${description}`;
  const isSoftware = isFallback || SOFTWARE_MARKERS.test(text);
  const base =
    [vendor, architecture || device || description].filter(Boolean).join(' ').trim() || 'unknown adapter';
  return {
    vendor,
    architecture,
    device,
    description,
    isSoftware,
    name: isSoftware ? `${base} (software adapter, runs on the CPU)` : base,
  };
}

export async function createGpuContext(
  gpu: GPU | undefined,
  options: GpuContextOptions = {},
): Promise<GpuContext> {
  if (!gpu) throw new WebGpuUnavailableError('navigator.gpu is missing.');
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? 'high-performance',
  });
  if (!adapter) throw new WebGpuUnavailableError('No GPU adapter was found (requestAdapter returned null).');

  const disabled = new Set(options.disableFeatures ?? []);
  const wanted: Array<[keyof GpuFeatures, GPUFeatureName]> = [
    ['shaderF16', 'shader-f16'],
    ['subgroups', 'subgroups' as GPUFeatureName],
    ['timestampQuery', 'timestamp-query'],
  ];
  const requiredFeatures: GPUFeatureName[] = [];
  const features: GpuFeatures = { shaderF16: false, subgroups: false, timestampQuery: false };
  for (const [key, name] of wanted) {
    if (adapter.features.has(name) && !disabled.has(key)) {
      requiredFeatures.push(name);
      features[key] = true;
    }
  }

  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) requiredLimits[name] = adapter.limits[name];

  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'sparsegpt' });
  const limits = {} as GpuLimits;
  for (const name of LIMIT_NAMES) {
    const lowered = options.testLimits?.[name];
    limits[name] = lowered !== undefined ? Math.min(lowered, device.limits[name]) : device.limits[name];
  }
  // isFallbackAdapter moved from GPUAdapter to GPUAdapterInfo; read either.
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacy = adapter as GPUAdapter & { isFallbackAdapter?: boolean };
  const isFallback = Boolean(info?.isFallbackAdapter ?? legacy.isFallbackAdapter);
  const activity = emptyActivity();
  countUploads(device, activity);
  const summary = describeAdapter(info, isFallback);
  return {
    device,
    adapter: summary,
    kernels: options.kernels ?? chooseKernelTarget(summary, limits),
    limits,
    features,
    lost: device.lost,
    memory: countBufferMemory(device),
    activity,
    destroy: () => device.destroy(),
  };
}

/**
 * Counts buffer bytes by wrapping createBuffer and each buffer's destroy, so that peak GPU memory can be reported
 * (bench:scale) whatever code allocated the buffers. Buffers never destroyed count until the device goes.
 */
function countBufferMemory(device: GPUDevice): GpuMemoryCounter {
  const counter = {
    current: 0,
    peak: 0,
    resetPeak() {
      counter.peak = counter.current;
    },
  };
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    const size = descriptor.size;
    counter.current += size;
    counter.peak = Math.max(counter.peak, counter.current);
    const destroy = buffer.destroy.bind(buffer);
    let destroyed = false;
    buffer.destroy = () => {
      if (!destroyed) counter.current -= size;
      destroyed = true;
      destroy();
    };
    return buffer;
  };
  return counter;
}

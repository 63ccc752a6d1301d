/** Compiles each (shader, entry point, constants) once per device and surfaces WGSL errors with their text. */
import type { GpuContext } from './context';

const caches = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

export function computePipeline(
  ctx: GpuContext,
  code: string,
  entryPoint = 'main',
  constants: Record<string, number> = {},
): GPUComputePipeline {
  let cache = caches.get(ctx.device);
  if (!cache) {
    cache = new Map();
    caches.set(ctx.device, cache);
  }
  const key = `${entryPoint}|${JSON.stringify(constants)}|${code}`;
  let pipeline = cache.get(key);
  if (!pipeline) {
    const module = ctx.device.createShaderModule({ code, label: entryPoint });
    pipeline = ctx.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint, constants },
      label: entryPoint,
    });
    cache.set(key, pipeline);
  }
  return pipeline;
}

export function bindGroup(
  ctx: GpuContext,
  pipeline: GPUComputePipeline,
  buffers: GPUBuffer[],
  group = 0,
): GPUBindGroup {
  return ctx.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(group),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

export function dispatch(
  encoder: GPUCommandEncoder,
  pipeline: GPUComputePipeline,
  group: GPUBindGroup,
  x: number,
  y = 1,
  z = 1,
): void {
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(x, y, z);
  pass.end();
}

/** Fails with the validation message instead of silently producing zeros. */
export async function withErrorScope<T>(
  ctx: GpuContext,
  what: string,
  run: () => Promise<T> | T,
): Promise<T> {
  ctx.device.pushErrorScope('out-of-memory');
  ctx.device.pushErrorScope('validation');
  const result = await run();
  const validation = await ctx.device.popErrorScope();
  const oom = await ctx.device.popErrorScope();
  if (oom) throw new Error(`The GPU ran out of memory during ${what}: ${oom.message}`);
  if (validation) throw new Error(`GPU validation error during ${what}: ${validation.message}`);
  return result;
}

/** Compiles each (shader, entry point, constants) once per device and surfaces WGSL errors with their text. */

import type { GpuContext } from './context';
import { GpuOutOfMemoryError, GpuValidationError } from './errors';

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
  let outcome: { value: T } | { error: unknown };
  try {
    outcome = { value: await run() };
  } catch (error) {
    outcome = { error };
  }
  // Scopes are popped whatever happened, so a failed step never leaves them on the device's stack.
  const validation = await ctx.device.popErrorScope();
  const oom = await ctx.device.popErrorScope();
  if (oom) throw new GpuOutOfMemoryError(what, oom.message);
  if (validation) throw new GpuValidationError(what, validation.message);
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

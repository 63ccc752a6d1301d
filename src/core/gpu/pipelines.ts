/**
 * Compiling, binding and dispatching: each (shader, entry point, constants) compiled once per device with WGSL
 * errors surfaced with their text, or ahead of use without blocking (precompilePipelines, fed by the list of
 * pipelines a device used, pipelinesUsed, that pipeline-memory.ts keeps between runs); bind groups from a list of buffers (whole, or ranges such as uniform slots);
 * one dispatch into an open compute pass.
 */
import { addTo } from './activity';
import type { GpuContext } from './context';
import { GpuOutOfMemoryError, GpuValidationError } from './errors';

/** What a compute pipeline is compiled from: WGSL, its entry point, its override constants. */
export interface PipelineSpec {
  code: string;
  entryPoint?: string;
  constants?: Record<string, number>;
}

interface DeviceCache {
  ready: Map<string, GPUComputePipeline>;
  /** Compiles started by precompilePipelines that have not finished yet. */
  pending: Map<string, Promise<void>>;
  /** Every spec computePipeline handed out on this device, by key, in the order of first use. */
  used: Map<string, PipelineSpec>;
}

const caches = new WeakMap<GPUDevice, DeviceCache>();

function cacheOf(ctx: GpuContext): DeviceCache {
  let cache = caches.get(ctx.device);
  if (!cache) {
    cache = { ready: new Map(), pending: new Map(), used: new Map() };
    caches.set(ctx.device, cache);
  }
  return cache;
}

function keyOf(spec: PipelineSpec): string {
  return `${spec.entryPoint ?? 'main'}|${JSON.stringify(spec.constants ?? {})}|${spec.code}`;
}

function descriptor(ctx: GpuContext, spec: PipelineSpec): GPUComputePipelineDescriptor {
  const entryPoint = spec.entryPoint ?? 'main';
  const module = ctx.device.createShaderModule({ code: spec.code, label: entryPoint });
  return {
    layout: 'auto',
    compute: { module, entryPoint, constants: spec.constants ?? {} },
    label: entryPoint,
  };
}

/** The pipeline for `spec` (or for code, entry point and constants), compiled on first use on this device. */
export function computePipeline(
  ctx: GpuContext,
  code: string | PipelineSpec,
  entryPoint = 'main',
  constants: Record<string, number> = {},
): GPUComputePipeline {
  const spec = typeof code === 'string' ? { code, entryPoint, constants } : code;
  const { ready, used } = cacheOf(ctx);
  const key = keyOf(spec);
  if (!used.has(key)) used.set(key, spec);
  let pipeline = ready.get(key);
  if (!pipeline) {
    const started = performance.now();
    pipeline = ctx.device.createComputePipeline(descriptor(ctx, spec));
    ready.set(key, pipeline);
    addTo(ctx.activity.pipelines, 0, performance.now() - started);
  }
  return pipeline;
}

/**
 * Compiles every spec this device has not compiled yet, so that computePipeline later finds them ready; resolves
 * when all are ready, and a spec already being compiled is waited for, not compiled twice. By default with
 * createComputePipelineAsync: Dawn compiles on its own threads while the caller goes on (GPUs, whose driver
 * compiles on CPU cores that are otherwise idle). `oneByOne` compiles them blocking, one per event-loop turn: on a
 * CPU-backed adapter the asynchronous path measured twice as slow (its compiles share the cores with everything
 * else and are polled for). A shader that fails to compile is skipped, its error captured here: computePipeline
 * reports it where it is used.
 */
export function precompilePipelines(
  ctx: GpuContext,
  specs: PipelineSpec[],
  options: { oneByOne?: boolean } = {},
): Promise<void> {
  const cache = cacheOf(ctx);
  const waits: Array<Promise<void>> = [];
  let previous: Promise<unknown> = Promise.resolve();
  for (const spec of specs) {
    const key = keyOf(spec);
    if (cache.ready.has(key)) continue;
    let pending = cache.pending.get(key);
    if (!pending) {
      const compiled = options.oneByOne
        ? previous.then(nextTurn).then(() => compileCaptured(ctx, spec, false))
        : compileCaptured(ctx, spec, true);
      previous = compiled;
      pending = compiled
        .then((pipeline) => {
          if (pipeline && !cache.ready.has(key)) cache.ready.set(key, pipeline);
        })
        .finally(() => cache.pending.delete(key));
      cache.pending.set(key, pending);
    }
    waits.push(pending);
  }
  return Promise.all(waits).then(() => undefined);
}

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** One pipeline compiled with its validation errors captured: undefined if it does not compile. */
async function compileCaptured(
  ctx: GpuContext,
  spec: PipelineSpec,
  async: boolean,
): Promise<GPUComputePipeline | undefined> {
  ctx.device.pushErrorScope('validation');
  let pipeline: GPUComputePipeline | Promise<GPUComputePipeline> | undefined;
  try {
    const desc = descriptor(ctx, spec);
    pipeline = async ? ctx.device.createComputePipelineAsync(desc) : ctx.device.createComputePipeline(desc);
  } catch {
    pipeline = undefined;
  }
  const error = await ctx.device.popErrorScope();
  try {
    const ready = await pipeline;
    return error ? undefined : ready;
  } catch {
    return undefined;
  }
}

/** The specs this device's computePipeline has handed out, in the order of first use (what a run needed). */
export function pipelinesUsed(ctx: GpuContext): PipelineSpec[] {
  return [...cacheOf(ctx).used.values()];
}

/** A buffer bound whole, or a range of one (a uniform slot, a window of a large buffer). */
export type Resource = GPUBuffer | GPUBufferBinding;

/** Binding i of group 0 gets resources[i]. */
export function bindResources(
  ctx: GpuContext,
  pipeline: GPUComputePipeline,
  resources: Resource[],
): GPUBindGroup {
  return ctx.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: resources.map((resource, binding) => ({
      binding,
      resource: 'buffer' in resource ? resource : { buffer: resource },
    })),
  });
}

export function dispatchIn(
  pass: GPUComputePassEncoder,
  pipeline: GPUComputePipeline,
  group: GPUBindGroup,
  x: number,
  y = 1,
  z = 1,
): void {
  if (x === 0 || y === 0 || z === 0) return;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(x, y, z);
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

/**
 * Pipelines remembered between runs: the specs a device's runs used, kept per adapter and kernel target in a store
 * the host provides (a file in the CLI's cache folder), so that the next run on a new device (a new CLI process,
 * a resume) compiles them all before it starts (asynchronously on a GPU, see precompilePipelines) instead of as
 * its first block meets them. A device keeps what it compiled (pipelines.ts), so a second run or the explorer on
 * the same device compiles nothing. It is a cache: a store that cannot be read or written, or a
 * remembered shader that no longer compiles, costs only the warm-up.
 */
import type { GpuContext } from './context';
import { type PipelineSpec, pipelinesUsed, precompilePipelines } from './pipelines';

/** Where remembered pipelines live, by key (memoryKey). */
export interface PipelineStore {
  load(key: string): Promise<unknown>;
  save(key: string, specs: PipelineSpec[]): Promise<void>;
}

/** The most specs remembered per key: every pipeline of several model families, and a bound on the store. */
export const MAX_REMEMBERED = 256;

/** Remembered lists are per adapter and kernel forms: another adapter's shaders may not compile here. */
export function memoryKey(ctx: GpuContext): string {
  const { shaderF16, subgroups } = ctx.features;
  return `${ctx.adapter.name}|${ctx.kernels}|f16 ${shaderF16}|subgroups ${subgroups}`;
}

export interface WarmUp {
  /** Pipelines compiled ahead (remembered ones this device had not compiled yet). */
  count: number;
  /** Wall milliseconds from the start of the warm-up until all of them were ready. */
  ms: number;
}

/** Starts compiling the remembered pipelines; resolves when they are ready (never rejects). */
export async function warmUpPipelines(ctx: GpuContext, store: PipelineStore): Promise<WarmUp> {
  const started = performance.now();
  let specs: PipelineSpec[];
  try {
    specs = validSpecs(await store.load(memoryKey(ctx)));
  } catch {
    return { count: 0, ms: 0 };
  }
  await precompilePipelines(ctx, specs, { oneByOne: ctx.adapter.isSoftware });
  return { count: specs.length, ms: performance.now() - started };
}

/** Adds what this device used to the remembered list (most recent first, at most MAX_REMEMBERED). */
export async function rememberPipelines(ctx: GpuContext, store: PipelineStore): Promise<void> {
  const key = memoryKey(ctx);
  try {
    const merged = new Map<string, PipelineSpec>();
    for (const spec of [...pipelinesUsed(ctx), ...validSpecs(await store.load(key).catch(() => undefined))]) {
      const id = `${spec.entryPoint ?? 'main'}|${JSON.stringify(spec.constants ?? {})}|${spec.code}`;
      if (!merged.has(id)) merged.set(id, spec);
    }
    await store.save(key, [...merged.values()].slice(0, MAX_REMEMBERED));
  } catch {
    // A cache that cannot be written: the next run compiles as it goes.
  }
}

/** The well-formed specs of a stored value (anything else, say a file damaged by hand, is ignored). */
export function validSpecs(value: unknown): PipelineSpec[] {
  if (!Array.isArray(value)) return [];
  return value.filter((spec): spec is PipelineSpec => {
    if (typeof spec !== 'object' || spec === null || typeof spec.code !== 'string') return false;
    if (spec.entryPoint !== undefined && typeof spec.entryPoint !== 'string') return false;
    const constants = spec.constants;
    if (constants === undefined) return true;
    return (
      typeof constants === 'object' &&
      constants !== null &&
      Object.values(constants).every((v) => typeof v === 'number')
    );
  });
}

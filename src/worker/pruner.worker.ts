/// <reference lib="webworker" />
import * as Comlink from 'comlink';
import { createGpuContext, type GpuContext } from '../core/gpu/context';
import type { GpuReport, PrunerApi } from './api';

let context: Promise<GpuContext> | undefined;

function gpuContext(): Promise<GpuContext> {
  if (!context) {
    context = createGpuContext(navigator.gpu);
    // A lost device is replaced on the next request rather than leaving the worker unusable.
    context.then(
      (ctx) => ctx.lost.then(() => (context = undefined)),
      () => (context = undefined),
    );
  }
  return context;
}

const api: PrunerApi = {
  async probeGpu(): Promise<GpuReport> {
    try {
      const ctx = await gpuContext();
      const inWorker = typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope;
      return { ok: true, adapter: ctx.adapter, limits: ctx.limits, features: ctx.features, inWorker };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  },
};

Comlink.expose(api);

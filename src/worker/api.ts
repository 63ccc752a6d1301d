/**
 * The one typed interface between the UI and the worker that owns the GPU. The UI imports only types from
 * here and talks through src/worker/client.ts; everything behind it runs in src/worker/pruner.worker.ts.
 */
import type { AdapterSummary, GpuFeatures, GpuLimits } from '../core/gpu/context';

export type GpuReport =
  | { ok: true; adapter: AdapterSummary; limits: GpuLimits; features: GpuFeatures; inWorker: boolean }
  | { ok: false; error: string };

export interface PrunerApi {
  /** Opens (or reuses) the worker's GPU device and describes it. Never throws: failures come back as text. */
  probeGpu(): Promise<GpuReport>;
}

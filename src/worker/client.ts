/**
 * The UI's handle on the pruning worker (squoosh style: one typed comlink interface, see api.ts). It
 * - runs GPU work one call at a time, in order, with explorer probes "latest wins" (a probe still waiting is
 *   dropped when a newer one arrives, so dragging a slider never builds a backlog);
 * - cancels runs: politely (the worker stops within one layer) or at once (the worker is terminated);
 * - respawns the worker when it dies or is terminated, and opens the last model again in the new one, so the
 *   page stays usable. Calls that were in flight in a dead worker reject with WorkerStoppedError.
 */
import * as Comlink from 'comlink';
import type { ModelSummary, PruneEvent } from '../core/pipeline/types';
import type {
  CalibrationMeasureReply,
  CurvePoint,
  EvaluationMeasureReply,
  GpuReport,
  LayerProbeReply,
  LayerProbeRequest,
  ModelFileInput,
  PrunerApi,
  RunReply,
  RunRequest,
} from './api';

export class WorkerStoppedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'WorkerStoppedError';
  }
}

/** A queued call that a newer call of the same kind replaced before it started. */
export class SupersededError extends Error {
  constructor() {
    super('Replaced by a newer request.');
    this.name = 'SupersededError';
  }
}

export function isSuperseded(error: unknown): boolean {
  return error instanceof SupersededError || (error instanceof Error && error.name === 'SupersededError');
}

export function isCancelled(error: unknown): boolean {
  return error instanceof Error && error.name === 'CancelledError';
}

export interface RunHandle {
  /** Settles when the run ends: its reply, or a CancelledError / WorkerStoppedError / the pipeline's error. */
  done: Promise<RunReply>;
  /** Asks the worker to stop after the current layer. */
  cancel(): Promise<void>;
  /** Stops at once by terminating the worker (a new one starts and reopens the model). */
  stopNow(): void;
}

export interface PrunerClient {
  probeGpu(): Promise<GpuReport>;
  openModel(name: string, files: ModelFileInput[]): Promise<ModelSummary>;
  measureCalibration(
    text: string,
    request: { nsamples: number; seqlen: number },
  ): Promise<CalibrationMeasureReply>;
  measureEvaluation(
    text: string,
    request: { seqlen: number; maxWindows?: number },
  ): Promise<EvaluationMeasureReply>;
  prune(request: RunRequest, onEvents: (events: PruneEvent[]) => void): RunHandle;
  probeLayer(request: LayerProbeRequest): Promise<LayerProbeReply>;
  errorCurve(tensor: string, sparsities: number[]): Promise<CurvePoint[]>;
  closeExplorer(): Promise<void>;
  /** Test-only (see api.ts): destroys the worker's GPU device now, even while a run holds the queue. */
  debugLoseDevice(): Promise<boolean>;
  /** Terminates the worker; the next call starts a fresh one. */
  restart(reason?: string): void;
  /** Called with a message whenever the worker had to be replaced. */
  onRestart(listener: (reason: string) => void): () => void;
  dispose(): void;
}

/** What starts a worker; replaced in tests. */
export type WorkerFactory = () => Worker;

export function defaultWorkerFactory(): Worker {
  return new Worker(new URL('./pruner.worker.ts', import.meta.url), { type: 'module', name: 'pruner' });
}

interface LiveWorker {
  api: Comlink.Remote<PrunerApi>;
  /** Rejects (never resolves) when this worker stops; every call races against it. */
  stopped: Promise<never>;
  /** Terminates this worker and rejects everything in flight on it. */
  die(reason: string): void;
  /** Opens the last model in this worker once; shared by the calls that need it. */
  modelOpened?: Promise<unknown>;
}

interface Waiting {
  start(): void;
  drop(): void;
}

export function createPrunerClient(createWorker: WorkerFactory = defaultWorkerFactory): PrunerClient {
  let live: LiveWorker | undefined;
  let lastModel: { name: string; files: ModelFileInput[] } | undefined;
  const restartListeners = new Set<(reason: string) => void>();

  function spawn(): LiveWorker {
    const worker = createWorker();
    const api = Comlink.wrap<PrunerApi>(worker);
    let reject!: (error: Error) => void;
    const stopped = new Promise<never>((_, fail) => {
      reject = fail;
    });
    stopped.catch(() => undefined);
    const entry: LiveWorker = {
      api,
      stopped,
      die(reason) {
        if (live !== entry) return;
        live = undefined;
        reject(new WorkerStoppedError(reason));
        api[Comlink.releaseProxy]();
        worker.terminate();
        for (const listener of restartListeners) listener(reason);
      },
    };
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      entry.die(
        `The pruning worker stopped after an error (${event.message || 'no details'}); it was restarted.`,
      );
    });
    worker.addEventListener('messageerror', () =>
      entry.die('The pruning worker sent a message that could not be read; it was restarted.'),
    );
    return entry;
  }

  function current(): LiveWorker {
    live ??= spawn();
    return live;
  }

  function kill(reason: string) {
    live?.die(reason);
  }

  /** Runs `call` on the current worker, rejecting if that worker stops first. */
  function onWorker<T>(call: (api: Comlink.Remote<PrunerApi>, entry: LiveWorker) => Promise<T>): Promise<T> {
    const entry = current();
    return Promise.race([call(entry.api, entry), entry.stopped]);
  }

  /** Reopens the last model after a respawn, once per worker. */
  function withModel<T>(call: (api: Comlink.Remote<PrunerApi>) => Promise<T>): Promise<T> {
    return onWorker(async (api, entry) => {
      if (lastModel && !entry.modelOpened) {
        const { name, files } = lastModel;
        entry.modelOpened = api.openModel(name, files);
      }
      await entry.modelOpened;
      return call(api);
    });
  }

  // One GPU call at a time, in order.
  let tail: Promise<unknown> = Promise.resolve();
  const latest = new Map<string, Waiting>();

  function enqueue<T>(task: () => Promise<T>, supersedeKey?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let state: 'waiting' | 'started' | 'dropped' = 'waiting';
      const waiting: Waiting = {
        start() {
          if (state !== 'waiting') return;
          state = 'started';
          if (supersedeKey && latest.get(supersedeKey) === waiting) latest.delete(supersedeKey);
        },
        drop() {
          if (state !== 'waiting') return;
          state = 'dropped';
          reject(new SupersededError());
        },
      };
      if (supersedeKey) {
        latest.get(supersedeKey)?.drop();
        latest.set(supersedeKey, waiting);
      }
      const run = async () => {
        waiting.start();
        if (state !== 'started') return;
        try {
          resolve(await task());
        } catch (error) {
          reject(error);
        }
      };
      tail = tail.then(run, run);
    });
  }

  return {
    probeGpu: () => onWorker((api) => api.probeGpu() as Promise<GpuReport>),

    openModel(name, files) {
      return enqueue(async () => {
        lastModel = undefined;
        return onWorker(async (api, entry) => {
          const opening = api.openModel(name, files);
          entry.modelOpened = opening;
          try {
            const summary = await opening;
            lastModel = { name, files };
            return summary;
          } catch (error) {
            // No model is open now; later calls get the worker's own "open a model first".
            entry.modelOpened = undefined;
            throw error;
          }
        });
      });
    },

    measureCalibration: (text, request) => withModel((api) => api.measureCalibration(text, request)),
    measureEvaluation: (text, request) => withModel((api) => api.measureEvaluation(text, request)),

    prune(request, onEvents) {
      let worker: LiveWorker | undefined;
      const sink = Comlink.proxy((runId: string, events: PruneEvent[]) => {
        if (runId === request.runId) onEvents(events);
      });
      const done = enqueue(() =>
        withModel((api) => {
          worker = live;
          return api.prune(request, sink);
        }),
      );
      return {
        done,
        async cancel() {
          // Not queued: the run itself holds the queue.
          if (worker && live === worker) await worker.api.cancel(request.runId).catch(() => undefined);
        },
        stopNow() {
          if (worker && live === worker) kill('The run was stopped at once; the worker was restarted.');
        },
      };
    },

    probeLayer: (request) => enqueue(() => onWorker((api) => api.probeLayer(request)), 'probe'),
    errorCurve: (tensor, sparsities) =>
      enqueue(() => onWorker((api) => api.errorCurve(tensor, sparsities)), 'curve'),
    closeExplorer: () => enqueue(() => onWorker((api) => api.closeExplorer())),
    // Not queued: it is meant to strike while a run holds the queue.
    debugLoseDevice: () => (live ? live.api.debugLoseDevice() : Promise.resolve(false)),

    restart(reason = 'The worker was restarted.') {
      kill(reason);
    },
    onRestart(listener) {
      restartListeners.add(listener);
      return () => restartListeners.delete(listener);
    },
    dispose() {
      restartListeners.clear();
      kill('The page closed the worker.');
    },
  };
}

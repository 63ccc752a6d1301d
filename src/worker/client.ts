/**
 * The UI's handle on the pruning worker (squoosh's worker-bridge style): `Comlink.wrap<PrunerApi>()` typed by
 * api.ts, with each method's scheduling taken from CALL_POLICY there, so the method list exists once. It
 * - runs GPU work one call at a time, in order, with explorer probes "latest wins" (a probe still waiting is
 *   dropped when a newer one arrives, so dragging a slider never builds a backlog);
 * - cancels jobs: politely (the worker stops within one layer) or at once (the worker is terminated);
 * - respawns the worker when it dies or is terminated, and opens the last model again in the new one, so the
 *   page stays usable. Calls that were in flight in a dead worker reject with WorkerStoppedError.
 */
import * as Comlink from 'comlink';
import { CALL_POLICY, type CallPolicy, type PrunerApi } from './api';

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

/** A streaming job (a run) the client started. */
export interface JobHandle<R> {
  /** Settles when the job ends: its reply, or a CancelledError / WorkerStoppedError / the job's own error. */
  done: Promise<R>;
  /** Asks the worker to stop after the current layer. */
  cancel(): Promise<void>;
  /** Stops at once by terminating the worker (a new one starts and reopens the model). */
  stopNow(): void;
}

type Api = PrunerApi;
type PolicyOf<K extends keyof Api> = (typeof CALL_POLICY)[K];

/** A stream method as the UI calls it: the worker's `(request, sink)` becomes `(request, onEvents) → handle`. */
type StreamCall<F> = F extends (
  request: infer Request,
  sink: (runId: string, events: infer Events) => void,
) => Promise<infer Reply>
  ? (request: Request, onEvents: (events: Events) => void) => JobHandle<Reply>
  : never;

type Calls = {
  [K in keyof Api as PolicyOf<K> extends 'stream' | 'control' ? never : K]: Api[K];
};
type Streams = { [K in keyof Api as PolicyOf<K> extends 'stream' ? K : never]: StreamCall<Api[K]> };

export type PrunerClient = Calls &
  Streams & {
    /** Terminates the worker; the next call starts a fresh one. */
    restart(reason?: string): void;
    /** Called with a message whenever the worker had to be replaced. */
    onRestart(listener: (reason: string) => void): () => void;
    dispose(): void;
  };

/** What starts a worker; replaced in tests. */
export type WorkerFactory = () => Worker;

export function defaultWorkerFactory(): Worker {
  return new Worker(new URL('./pruner.worker.ts', import.meta.url), { type: 'module', name: 'pruner' });
}

type Remote = Comlink.Remote<Api>;
type AnyMethod = (...args: unknown[]) => Promise<unknown>;

interface LiveWorker {
  api: Remote;
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

/** A call by name on the worker's proxy (the policy table is the only place that names methods). */
function invoke(api: Remote, method: keyof Api, args: unknown[]): Promise<unknown> {
  return (api[method] as unknown as AnyMethod)(...args);
}

export function createPrunerClient(createWorker: WorkerFactory = defaultWorkerFactory): PrunerClient {
  let live: LiveWorker | undefined;
  /** The last successful 'open' call, repeated in a respawned worker. */
  let lastModel: { method: keyof Api; args: unknown[] } | undefined;
  const restartListeners = new Set<(reason: string) => void>();

  function spawn(): LiveWorker {
    const worker = createWorker();
    const api = Comlink.wrap<Api>(worker);
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
  function onWorker<T>(call: (api: Remote, entry: LiveWorker) => Promise<T>): Promise<T> {
    const entry = current();
    return Promise.race([call(entry.api, entry), entry.stopped]);
  }

  /** Reopens the last model after a respawn, once per worker. */
  function withModel<T>(call: (api: Remote) => Promise<T>): Promise<T> {
    return onWorker(async (api, entry) => {
      if (lastModel && !entry.modelOpened) entry.modelOpened = invoke(api, lastModel.method, lastModel.args);
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

  function open(method: keyof Api, args: unknown[]): Promise<unknown> {
    return enqueue(async () => {
      lastModel = undefined;
      return onWorker(async (api, entry) => {
        const opening = invoke(api, method, args);
        entry.modelOpened = opening;
        try {
          const summary = await opening;
          lastModel = { method, args };
          return summary;
        } catch (error) {
          // No model is open now; later calls get the worker's own "open a model first".
          entry.modelOpened = undefined;
          throw error;
        }
      });
    });
  }

  function stream(
    method: keyof Api,
    request: { runId: string },
    onEvents: (events: unknown[]) => void,
  ): JobHandle<unknown> {
    let worker: LiveWorker | undefined;
    const sink = Comlink.proxy((runId: string, events: unknown[]) => {
      if (runId === request.runId) onEvents(events);
    });
    const done = enqueue(() =>
      withModel((api) => {
        worker = live;
        return invoke(api, method, [request, sink]);
      }),
    );
    return {
      done,
      async cancel() {
        // Not queued: the job itself holds the queue.
        if (worker && live === worker) await worker.api.cancel(request.runId).catch(() => undefined);
      },
      stopNow() {
        if (worker && live === worker) kill('The run was stopped at once; the worker was restarted.');
      },
    };
  }

  const schedulers: Record<CallPolicy, ((method: keyof Api) => AnyMethod) | undefined> = {
    direct:
      (method) =>
      (...args) =>
        onWorker((api) => invoke(api, method, args)),
    model:
      (method) =>
      (...args) =>
        withModel((api) => invoke(api, method, args)),
    open:
      (method) =>
      (...args) =>
        open(method, args),
    queued:
      (method) =>
      (...args) =>
        enqueue(() => onWorker((api) => invoke(api, method, args))),
    latest:
      (method) =>
      (...args) =>
        enqueue(() => onWorker((api) => invoke(api, method, args)), method),
    stream: (method) =>
      ((request: { runId: string }, onEvents: (events: unknown[]) => void) =>
        stream(method, request, onEvents)) as unknown as AnyMethod,
    control: undefined,
  };
  const calls: Record<string, AnyMethod> = {};
  for (const [method, policy] of Object.entries(CALL_POLICY) as Array<[keyof Api, CallPolicy]>) {
    const schedule = schedulers[policy];
    if (schedule) calls[method] = schedule(method);
  }

  return {
    ...(calls as unknown as Calls & Streams),
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

/**
 * The client's own behaviour (ordering, latest-wins probes, cancel, respawn after a crash) over real comlink
 * messaging: each "worker" is one end of a Node MessageChannel with a scripted PrunerApi exposed on the other, so
 * everything but the GPU work crosses a real message boundary.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelSummary, PruneEvent, RunResult } from '../core/pipeline/types';
import {
  CALL_POLICY,
  type LayerProbeRequest,
  type PrunerApi,
  type RunEventSink,
  type RunRequest,
} from './api';
import { createPrunerClient, isSuperseded, type PrunerClient, WorkerStoppedError } from './client';

interface Gate {
  promise: Promise<void>;
  open(): void;
}

function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** What one scripted worker saw, and levers to hold its calls. */
interface ScriptedWorker {
  calls: string[];
  running: number;
  maxRunning: number;
  holdPrune?: Gate;
  holdProbe?: Gate;
  cancelled: string[];
  crash(message: string): void;
  terminated: boolean;
}

const SUMMARY = { name: 'tiny' } as ModelSummary;
const RESULT = {
  layers: [],
  overallSparsity: 0.5,
  totalMs: 1,
  notes: [],
  outputFiles: [],
} as unknown as RunResult;

function scriptedApi(worker: ScriptedWorker): PrunerApi {
  const track = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    worker.calls.push(name);
    worker.running++;
    worker.maxRunning = Math.max(worker.maxRunning, worker.running);
    try {
      return await work();
    } finally {
      worker.running--;
    }
  };
  const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
  return {
    probeGpu: async () => ({ ok: false, error: 'no GPU in this test' }),
    openModel: (name) => track(`open ${name}`, async () => ({ ...SUMMARY, name })),
    measureCalibration: (text) =>
      track(`measure ${text}`, async () => {
        await tick();
        return { textTokens: text.length, nsamples: 1, seqlen: 2, notes: [] };
      }),
    measureEvaluation: () =>
      track('evaluation', async () => ({ textTokens: 0, windows: 0, seqlen: 2, notes: [] })),
    prune: (request: RunRequest, onEvents: RunEventSink) =>
      track(`prune ${request.runId}`, async () => {
        await onEvents(request.runId, [
          { type: 'stage', stage: 'pruning', message: 'Pruning' } as PruneEvent,
        ]);
        await worker.holdPrune?.promise;
        if (worker.cancelled.includes(request.runId)) {
          const error = new Error('The run was cancelled.');
          error.name = 'CancelledError';
          throw error;
        }
        return { result: RESULT, explorerLayers: [] };
      }),
    generate: (request) =>
      track(`generate ${request.runId}`, async () => {
        throw new Error('generation is not scripted in this test');
      }),
    tokenLosses: () => track('losses', async () => ({ pieces: [], dense: [], pruned: [], droppedTokens: 0 })),
    cancel: async (runId) => {
      worker.cancelled.push(runId);
      worker.holdPrune?.open();
    },
    probeLayer: (request: LayerProbeRequest) =>
      track(`probe ${request.sparsity}`, async () => {
        await worker.holdProbe?.promise;
        return {
          sparsity: request.sparsity,
          relativeError: request.sparsity / 10,
          mask: { width: 0, height: 0, kept: [] } as never,
        };
      }),
    errorCurve: (tensor) => track(`curve ${tensor}`, async () => []),
    closeExplorer: () => track('close', async () => undefined),
    reopenExplorer: (runId) => track(`reopen ${runId}`, async () => []),
    debugLoseDevice: async () => false,
  };
}

/** A Worker-shaped object over one end of a MessageChannel; `error` events can be raised as a crash would. */
function scriptedWorkerFactory() {
  const workers: ScriptedWorker[] = [];
  const ports: MessagePort[] = [];
  const factory = () => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    const errorListeners = new Set<(event: ErrorEvent) => void>();
    const state: ScriptedWorker = {
      calls: [],
      running: 0,
      maxRunning: 0,
      cancelled: [],
      terminated: false,
      crash(message) {
        for (const listener of errorListeners) listener({ message, preventDefault() {} } as ErrorEvent);
      },
    };
    workers.push(state);
    Comlink.expose(scriptedApi(state), port2 as unknown as Comlink.Endpoint);
    const worker = {
      postMessage: (message: unknown, transfer?: Transferable[]) =>
        port1.postMessage(message, transfer as never),
      addEventListener(type: string, listener: (event: never) => void) {
        if (type === 'error') errorListeners.add(listener as never);
        else if (type === 'message') port1.addEventListener('message', listener as never);
      },
      removeEventListener(type: string, listener: (event: never) => void) {
        if (type === 'message') port1.removeEventListener('message', listener as never);
      },
      start: () => port1.start(),
      terminate() {
        state.terminated = true;
        port1.close();
        port2.close();
      },
    };
    return worker as unknown as Worker;
  };
  return {
    factory,
    workers,
    close: () => {
      for (const port of ports) port.close();
    },
  };
}

let client: PrunerClient | undefined;
let cleanup: (() => void) | undefined;

function setUp() {
  const scripted = scriptedWorkerFactory();
  client = createPrunerClient(scripted.factory);
  cleanup = scripted.close;
  return { client, workers: scripted.workers };
}

afterEach(() => {
  client?.dispose();
  cleanup?.();
  client = undefined;
});

const request = (runId: string): RunRequest => ({
  runId,
  settings: {} as RunRequest['settings'],
  calibration: 'text',
  outputFolder: runId,
});

describe('the pruner client', () => {
  it('offers each method of the API once, derived from its policy table (cancel only through a run handle)', () => {
    const { client } = setUp();
    const offered = Object.entries(CALL_POLICY)
      .filter(([, policy]) => policy !== 'control')
      .map(([method]) => method);
    for (const method of offered)
      expect(typeof (client as unknown as Record<string, unknown>)[method]).toBe('function');
    expect('cancel' in client).toBe(false);
    expect(Object.keys(CALL_POLICY).sort()).toEqual(Object.keys(scriptedApi({} as ScriptedWorker)).sort());
  });

  it('runs queued GPU calls one at a time, in the order they were made', async () => {
    const { client, workers } = setUp();
    await client.openModel('tiny', []);
    const run = client.prune(request('r1'), () => undefined);
    const replies = await Promise.all([
      run.done,
      client.probeLayer({ tensor: 't', method: 'sparsegpt', sparsity: 0.3, pattern: 'unstructured' }),
      client.closeExplorer(),
    ]);
    expect(replies[1].relativeError).toBeCloseTo(0.03, 12);
    expect(workers).toHaveLength(1);
    expect(workers[0].calls).toEqual(['open tiny', 'prune r1', 'probe 0.3', 'close']);
    expect(workers[0].maxRunning).toBe(1);
  });

  it('drops explorer probes that a newer probe replaced before they started (latest wins)', async () => {
    const { client, workers } = setUp();
    await client.openModel('tiny', []);
    workers[0].holdPrune = gate();
    const run = client.prune(request('r5'), () => undefined);
    await expect.poll(() => workers[0].calls).toContain('prune r5');
    const probe = (sparsity: number) =>
      client.probeLayer({ tensor: 't', method: 'sparsegpt', sparsity, pattern: 'unstructured' }).then(
        (reply) => reply.sparsity,
        (error: unknown) => (isSuperseded(error) ? 'superseded' : 'failed'),
      );
    // Three drags while the run holds the queue: only the newest is worth computing.
    const outcomes = [probe(0.1), probe(0.2), probe(0.3)];
    workers[0].holdPrune.open();
    await run.done;
    expect(await Promise.all(outcomes)).toEqual(['superseded', 'superseded', 0.3]);
    expect(workers[0].calls.filter((c) => c.startsWith('probe'))).toEqual(['probe 0.3']);
  });

  it('delivers run events through the proxied callback and cancels inside the worker', async () => {
    const { client, workers } = setUp();
    await client.openModel('tiny', []);
    workers[0].holdPrune = gate();
    const events: PruneEvent[] = [];
    const run = client.prune(request('r2'), (batch) => events.push(...batch));
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]).toMatchObject({ type: 'stage', stage: 'pruning' });
    await run.cancel();
    await expect(run.done).rejects.toMatchObject({ name: 'CancelledError' });
    expect(workers[0].cancelled).toEqual(['r2']);
  });

  it('after a crash, rejects what was in flight, starts a new worker and opens the last model in it again', async () => {
    const { client, workers } = setUp();
    const restarts: string[] = [];
    client.onRestart((reason) => restarts.push(reason));
    await client.openModel('tiny', []);
    workers[0].holdPrune = gate();
    const run = client.prune(request('r3'), () => undefined);
    await expect.poll(() => workers[0].calls).toContain('prune r3');
    workers[0].crash('out of memory');
    await expect(run.done).rejects.toBeInstanceOf(WorkerStoppedError);
    expect(workers[0].terminated).toBe(true);
    expect(restarts).toEqual([expect.stringContaining('out of memory')]);

    const measured = await client.measureCalibration('abc', { nsamples: 1, seqlen: 2 });
    expect(measured.textTokens).toBe(3);
    expect(workers).toHaveLength(2);
    expect(workers[1].calls).toEqual(['open tiny', 'measure abc']);
  });

  it('stops a run at once by terminating the worker', async () => {
    const { client, workers } = setUp();
    await client.openModel('tiny', []);
    workers[0].holdPrune = gate();
    const run = client.prune(request('r4'), () => undefined);
    await expect.poll(() => workers[0].calls).toContain('prune r4');
    run.stopNow();
    await expect(run.done).rejects.toBeInstanceOf(WorkerStoppedError);
    expect(workers[0].terminated).toBe(true);
    // The queue is free again, on a fresh worker.
    await client.closeExplorer();
    expect(workers[1].calls).toEqual(['close']);
  });
});

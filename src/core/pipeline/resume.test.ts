/**
 * A run interrupted by a lost GPU device resumes on a new device from the last finished block, and writes output
 * byte-identical to an uninterrupted run: saved blocks are replayed, never pruned again.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openFolder } from '../../node/files';
import { createNodeGpuContext } from '../../node/gpu';
import type { GpuContext } from '../gpu/context';
import { memoryByteSink } from '../io/bytes';
import { openModel } from './open-model';
import { memoryProgressStore } from './progress-store';
import { DeviceLostError, pruneModel } from './prune-model';
import { DEFAULT_SETTINGS, type PruneEvent, type PruneSettings } from './types';

const demo = new URL('../../../public/demo/stories260K/', import.meta.url);
const calibration = readFileSync(new URL('calibration.txt', demo), 'utf8');
const settings: PruneSettings = { ...DEFAULT_SETTINGS, nsamples: 2, seqlen: 32 };
const contexts: GpuContext[] = [];
afterAll(() => {
  for (const ctx of contexts) ctx.destroy();
});

async function freshContext(): Promise<GpuContext> {
  const ctx = await createNodeGpuContext();
  contexts.push(ctx);
  return ctx;
}

function memoryOutput() {
  const sinks = new Map<string, ReturnType<typeof memoryByteSink>>();
  return {
    sinks,
    sinkFor: async (path: string) => {
      const sink = memoryByteSink();
      sinks.set(path, sink);
      return sink;
    },
  };
}

describe('resume after a lost device', () => {
  it('continues from the last finished block and writes the same bytes', async () => {
    const model = (await openModel(await openFolder(new URL('.', demo).pathname))).model;
    const texts = { calibration };

    const whole = memoryOutput();
    const uninterrupted = await pruneModel(await freshContext(), model, settings, texts, { output: whole });

    const store = memoryProgressStore();
    const doomed = await freshContext();
    let layers = 0;
    const interrupted = pruneModel(doomed, model, settings, texts, {
      output: memoryOutput(),
      progress: store,
      onEvent: (event: PruneEvent) => {
        // Mid-way through block 2 (7 linears per block).
        if (event.type === 'layer' && ++layers === 17) doomed.device.destroy();
      },
    });
    const error = await interrupted.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceLostError);
    expect((error as DeviceLostError).completedBlocks).toBe(2);
    expect([...store.blocks.keys()]).toEqual([0, 1]);

    // The saved blocks carry the time the run had taken; a resumed run counts on from the last one.
    const before = store.blocks.get(1)?.elapsedMs ?? 0;
    expect(before).toBeGreaterThan(store.blocks.get(0)?.elapsedMs ?? Number.POSITIVE_INFINITY);
    // As if the interrupted part had taken an hour.
    (store.blocks.get(1) as { elapsedMs?: number }).elapsedMs = 3_600_000;
    const resumedOutput = memoryOutput();
    const events: PruneEvent[] = [];
    const resumeStarted = performance.now();
    const resumed = await pruneModel(await freshContext(), model, settings, texts, {
      output: resumedOutput,
      progress: store,
      onEvent: (e) => events.push(e),
    });
    expect(resumed.result.layers.map((l) => [l.tensor, l.sparsity, l.relativeError])).toEqual(
      uninterrupted.result.layers.map((l) => [l.tensor, l.sparsity, l.relativeError]),
    );
    expect(events.filter((e) => e.type === 'layer')).toHaveLength(35);
    // The saved layers are shown before any pass over the samples: the run's progress (one step per pass and per
    // linear) has not moved before the first of them.
    const firstLayer = events.findIndex((e) => e.type === 'layer');
    expect(events.slice(0, firstLayer).filter((e) => e.type === 'progress' && e.done > 0)).toEqual([]);
    expect(resumed.result.totalMs).toBeGreaterThan(3_600_000);
    expect(resumed.result.totalMs).toBeLessThanOrEqual(3_600_000 + performance.now() - resumeStarted);
    expect([...resumedOutput.sinks.keys()].sort()).toEqual([...whole.sinks.keys()].sort());
    for (const [path, sink] of whole.sinks) {
      expect(
        Buffer.from(resumedOutput.sinks.get(path)?.bytes() ?? []).equals(Buffer.from(sink.bytes())),
      ).toBe(true);
    }
    expect([...store.blocks.keys()]).toEqual([0, 1, 2, 3, 4]);
  }, 180_000);
});

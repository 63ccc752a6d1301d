import { describe, expect, it } from 'vitest';
import type { PruneEvent } from '../core/pipeline/types';
import { createEventBatcher } from './event-batcher';

describe('event batches from the worker', () => {
  it('send events in order, replacing a progress event that a newer one follows directly', async () => {
    const sent: PruneEvent[][] = [];
    const batcher = createEventBatcher((batch) => sent.push(batch), 5);
    batcher.push({ type: 'stage', stage: 'pruning', message: 'Pruning' });
    batcher.push({ type: 'progress', done: 1, total: 10 });
    batcher.push({ type: 'progress', done: 2, total: 10 });
    batcher.push({ type: 'block', block: 0, blocks: 2 });
    batcher.push({ type: 'progress', done: 3, total: 10 });
    expect(sent).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent).toEqual([
      [
        { type: 'stage', stage: 'pruning', message: 'Pruning' },
        { type: 'progress', done: 2, total: 10 },
        { type: 'block', block: 0, blocks: 2 },
        { type: 'progress', done: 3, total: 10 },
      ],
    ]);
    batcher.push({ type: 'warning', message: 'late' });
    batcher.flush();
    expect(sent[1]).toEqual([{ type: 'warning', message: 'late' }]);
    batcher.flush();
    expect(sent).toHaveLength(2);
  });
});

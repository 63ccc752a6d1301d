/**
 * Pipeline events are sent to the page in small batches: one message per few milliseconds instead of one per
 * event, and progress events that a newer one replaces before sending are dropped.
 */
import type { PruneEvent } from '../core/pipeline/types';

export interface EventBatcher<E extends { type: string } = PruneEvent> {
  push(event: E): void;
  flush(): void;
}

export function createEventBatcher<E extends { type: string } = PruneEvent>(
  send: (events: E[]) => void,
  delayMs = 16,
): EventBatcher<E> {
  let pending: E[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    send(batch);
  };
  return {
    push(event) {
      const last = pending[pending.length - 1];
      if (event.type === 'progress' && last?.type === 'progress') pending[pending.length - 1] = event;
      else pending.push(event);
      timer ??= setTimeout(flush, delayMs);
    },
    flush,
  };
}

/** Starts the pruning worker and wraps it with comlink. The UI never touches GPU objects itself. */
import * as Comlink from 'comlink';
import type { PrunerApi } from './api';

export interface PrunerClient {
  api: Comlink.Remote<PrunerApi>;
  terminate(): void;
}

export function startPruner(): PrunerClient {
  const worker = new Worker(new URL('./pruner.worker.ts', import.meta.url), {
    type: 'module',
    name: 'pruner',
  });
  const api = Comlink.wrap<PrunerApi>(worker);
  return {
    api,
    terminate: () => {
      api[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}

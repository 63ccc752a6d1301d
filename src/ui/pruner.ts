/**
 * The page's one bridge to the worker that owns the GPU (see src/worker/client.ts). Feature actions call it;
 * components never do. When the worker has to be replaced, the page says why.
 */
import { useAppStore } from '../store/app';
import { createPrunerClient } from '../worker/client';

export const pruner = createPrunerClient();

pruner.onRestart((reason) => useAppStore.getState().setRestartNotice(reason));

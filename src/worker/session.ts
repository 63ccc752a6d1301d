/** What the worker keeps between calls: the open model and the last run's layer explorer. */
import type { ModelFolder } from '../core/io/folder';
import type { LayerExplorer } from '../core/pipeline/explorer';
import { type OpenedModel, openModel } from '../core/pipeline/open-model';
import type { ModelSummary } from '../core/pipeline/types';

export class NoModelError extends Error {
  constructor() {
    super('No model is open: drop a model folder or press "Try the demo model" first.');
    this.name = 'NoModelError';
  }
}

export class NoExplorerError extends Error {
  constructor() {
    super('The layer explorer needs a finished run in this session: press Prune first.');
    this.name = 'NoExplorerError';
  }
}

interface Opened {
  summary: ModelSummary;
  model: OpenedModel;
}

let opened: Promise<Opened> | undefined;
let explorer: LayerExplorer | undefined;

export function openModelFolder(folder: ModelFolder): Promise<Opened> {
  const opening = openModel(folder);
  opened = opening;
  opening.catch(() => {
    if (opened === opening) opened = undefined;
  });
  return opening;
}

export function currentModel(): Promise<Opened> {
  if (!opened) return Promise.reject(new NoModelError());
  return opened;
}

export function closeModel(): void {
  replaceExplorer(undefined);
  opened = undefined;
}

export function replaceExplorer(next: LayerExplorer | undefined): void {
  if (explorer && explorer !== next) explorer.destroy();
  explorer = next;
}

export function currentExplorer(): LayerExplorer {
  if (!explorer) throw new NoExplorerError();
  return explorer;
}

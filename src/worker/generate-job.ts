/**
 * The worker's side of generation: the open (dense) model and a run's pruned output, read back from the origin
 * private file system, continue one prompt side by side on the worker's GPU device, their tokens sent to the page as
 * they come.
 */
import { folderFromDirectoryHandle } from '../browser/files';
import { runDirectory } from '../browser/opfs';
import { tokenLosses } from '../core/eval/token-losses';
import { generate } from '../core/generate/generate';
import { samplingOf } from '../core/generate/sampling';
import type { GpuContext } from '../core/gpu/context';
import { forwardModelOf, openForwardFolder } from '../core/pipeline/forward-model';
import type { OpenedModel } from '../core/pipeline/open-model';
import type {
  GenerateEvent,
  GenerateModel,
  GenerateReply,
  GenerateRequest,
  TokenLossReply,
  TokenLossRequest,
} from './api';
import type { EventBatcher } from './event-batcher';

const MODELS: GenerateModel[] = ['dense', 'pruned'];

export class MissingOutputError extends Error {
  constructor() {
    super(
      "This run's pruned model is no longer in the browser's storage (freed or evicted): run it again to generate.",
    );
    this.name = 'MissingOutputError';
  }
}

async function openPruned(outputFolder: string) {
  let directory: FileSystemDirectoryHandle;
  try {
    directory = await runDirectory(outputFolder, false);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotFoundError') throw new MissingOutputError();
    throw error;
  }
  return openForwardFolder(await folderFromDirectoryHandle(directory));
}

export async function generateSideBySide(
  ctx: GpuContext,
  dense: OpenedModel,
  request: GenerateRequest,
  events: EventBatcher<GenerateEvent>,
  signal: AbortSignal,
): Promise<GenerateReply> {
  // Checked before any weight is read, with the setting's own message.
  const sampling = samplingOf(request.sampling);
  const pruned = await openPruned(request.outputFolder);
  const models = [forwardModelOf(dense), { ...pruned, name: `${pruned.name} (pruned)` }];
  const stats = await generate(
    ctx,
    models,
    { prompt: request.prompt, maxTokens: request.maxTokens, sampling },
    {
      signal,
      onToken: (token, stats) =>
        events.push({
          type: 'token',
          model: MODELS[token.model],
          text: token.text,
          tokens: stats.tokens,
          tokensPerSecond: stats.tokensPerSecond,
          stop: stats.stop,
        }),
      onNote: (message) => events.push({ type: 'note', message }),
    },
  );
  const [denseStats, prunedStats] = stats.map(({ ids: _, ...rest }) => rest);
  return { dense: denseStats, pruned: prunedStats };
}

/** Which tokens of a text got harder: each token's loss under the dense model and the run's pruned output. */
export async function lossesSideBySide(
  ctx: GpuContext,
  dense: OpenedModel,
  request: TokenLossRequest,
): Promise<TokenLossReply> {
  const pruned = await openPruned(request.outputFolder);
  return tokenLosses(ctx, forwardModelOf(dense), pruned, request.text, request.maxTokens);
}

/**
 * Which words got harder: the loss (NLL, in nats) of every token of the first evaluation window under the dense and
 * the pruned model, by the same GPU forward as perplexity, with each token's text, so that a page can colour the
 * text by the increase (pruned minus dense). The window's first token is context only, as in perplexity.
 */
import { modelNll } from '../forward/model-forward';
import type { GpuContext } from '../gpu/context';
import type { ForwardModel } from '../pipeline/forward-model';
import { tokenPieces } from '../tokenizer/text-stream';
import { evaluationWindows } from './perplexity-windows';

export interface TokenLosses {
  /** Each token's text; they join to the window's text. */
  pieces: string[];
  /** Loss of each token under each model; null for the first (context only). */
  dense: Array<number | null>;
  pruned: Array<number | null>;
  /** Tokens of the text beyond the window, not shown. */
  droppedTokens: number;
}

/** The per-token losses of the first `maxTokens` tokens of `text` (at most the models' positions). */
export async function tokenLosses(
  ctx: GpuContext,
  dense: ForwardModel,
  pruned: ForwardModel,
  text: string,
  maxTokens: number,
): Promise<TokenLosses> {
  const tokens = dense.tokenizer.encode(text);
  const length = Math.min(maxTokens, dense.maxPositions, tokens.length);
  const window = evaluationWindows(tokens, length, 1);
  const lossesOf = async (model: ForwardModel) => {
    const nll = await modelNll(ctx, model.arch, model.source, window.ids, { seqLen: window.seqlen });
    // nll[t] scores token t + 1; the last position predicts nothing.
    return [null, ...Array.from(nll.subarray(0, window.seqlen - 1))];
  };
  return {
    pieces: tokenPieces(dense.tokenizer, window.ids),
    dense: await lossesOf(dense),
    pruned: await lossesOf(pruned),
    droppedTokens: tokens.length - window.seqlen,
  };
}

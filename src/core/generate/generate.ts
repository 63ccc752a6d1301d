/**
 * Text generation from one or more models side by side (the app runs the dense and the pruned model together): the
 * prompt is tokenized by each model's tokenizer and fed once (prefill), then each model takes turns choosing its
 * next token (sampling.ts) and feeding it back (decoder.ts), so every continuation streams as it grows. Each model
 * draws from its own seeded random stream, so the same seed gives the same text whether a model runs alone or
 * beside another. Generation stops at the model's end-of-sequence token or after `maxTokens`.
 */
import { requireGpuForward } from '../forward/gpu-support';
import type { GpuContext } from '../gpu/context';
import type { ForwardModel } from '../pipeline/forward-model';
import { CancelledError } from '../pipeline/types';
import { TokenTextStream } from '../tokenizer/text-stream';
import { CachedDecoder } from './decoder';
import { type GenerationWeights, placeWeights } from './model-weights';
import { type Sampling, TokenPicker } from './sampling';

export interface GenerationRequest {
  prompt: string;
  maxTokens: number;
  sampling: Sampling;
  /** Stop at the model's end-of-sequence token (default true). */
  stopAtEos?: boolean;
}

export interface GenerationStats {
  promptTokens: number;
  promptMs: number;
  /** Tokens generated so far. */
  tokens: number;
  /** Time spent feeding generated tokens back (the steps after the prompt), this model's own. */
  decodeMs: number;
  /** Generated tokens fed per second; undefined before the first step. */
  tokensPerSecond?: number;
  ids: number[];
  text: string;
  /** Set when the model has finished: its end-of-sequence token, or max tokens. */
  stop?: 'eos' | 'max-tokens';
}

export interface GeneratedToken {
  /** Index of the model in the list given to generate. */
  model: number;
  id: number;
  /** The text this token adds ("" while it leaves a character unfinished). */
  text: string;
}

export interface GenerateOptions {
  signal?: AbortSignal;
  onToken?: (token: GeneratedToken, stats: GenerationStats) => void;
  /** Said once per model where its weights are streamed rather than resident. */
  onNote?: (message: string) => void;
  /** Stream every block at every step (tests of the slow path). */
  streamWeights?: boolean;
}

export class GenerationError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'GenerationError';
  }
}

/** The prompt's token ids for `model` (BOS first where its tokenizer adds one), checked against its context. */
export function promptIds(model: ForwardModel, request: GenerationRequest): number[] {
  if (!Number.isInteger(request.maxTokens) || request.maxTokens < 1) {
    throw new GenerationError(`max tokens must be a whole number of at least 1 (got ${request.maxTokens})`);
  }
  let ids = model.tokenizer.encode(request.prompt);
  if (ids.length === 0 && model.tokenizer.bosId !== undefined) ids = [model.tokenizer.bosId];
  if (ids.length === 0) throw new GenerationError('The prompt is empty: type the text to continue.');
  const length = ids.length + request.maxTokens;
  if (length > model.maxPositions) {
    throw new GenerationError(
      `The prompt (${ids.length} tokens) and ${request.maxTokens} new tokens make ${length} positions, more than ` +
        `the ${model.maxPositions} ${model.name} was trained on: shorten the prompt or lower max tokens to ` +
        `${Math.max(0, model.maxPositions - ids.length)}.`,
    );
  }
  return ids;
}

/** One model's generation: its weights, cache, random stream and text so far. */
class Continuation {
  readonly stats: GenerationStats;
  private readonly picker: TokenPicker;
  private readonly text: TokenTextStream;
  private logits?: Float32Array;

  constructor(
    readonly model: ForwardModel,
    private readonly decoder: CachedDecoder,
    private readonly prompt: number[],
    private readonly request: GenerationRequest,
  ) {
    this.picker = new TokenPicker(request.sampling);
    this.text = new TokenTextStream(model.tokenizer, prompt);
    this.stats = { promptTokens: prompt.length, promptMs: 0, tokens: 0, decodeMs: 0, ids: [], text: '' };
  }

  async prefill(): Promise<void> {
    const started = performance.now();
    this.logits = await this.decoder.feed(this.prompt);
    this.stats.promptMs = performance.now() - started;
  }

  /** Chooses the next token and feeds it (unless it is the last); undefined once finished. */
  async next(): Promise<{ id: number; text: string } | undefined> {
    const { stats, request } = this;
    if (stats.stop || !this.logits) return undefined;
    const id = this.picker.pick(this.logits);
    stats.ids.push(id);
    stats.tokens++;
    const eos = (request.stopAtEos ?? true) && id === this.model.tokenizer.eosId;
    if (eos || stats.tokens === request.maxTokens) stats.stop = eos ? 'eos' : 'max-tokens';
    const text = this.text.push(id) + (stats.stop ? this.text.flush() : '');
    stats.text += text;
    if (!stats.stop) {
      const started = performance.now();
      this.logits = await this.decoder.feed([id]);
      stats.decodeMs += performance.now() - started;
      stats.tokensPerSecond = stats.tokens / (stats.decodeMs / 1000);
    }
    return { id, text };
  }
}

/**
 * Generates from every model in `models`, a token of each in turn, calling onToken as each arrives; resolves with
 * each model's stats. A cancelled signal stops between tokens with a CancelledError (the tokens so far were given).
 */
export async function generate(
  ctx: GpuContext,
  models: ForwardModel[],
  request: GenerationRequest,
  options: GenerateOptions = {},
): Promise<GenerationStats[]> {
  const prompts = models.map((model) => promptIds(model, request));
  // Generation computes whatever the GPU forward computes (families-generate.test.ts checks each family).
  for (const model of models) requireGpuForward(model.arch);
  const owned: Array<GenerationWeights | CachedDecoder> = [];
  const checkCancelled = () => {
    if (options.signal?.aborted) throw new CancelledError();
  };
  try {
    const continuations: Continuation[] = [];
    for (const [i, model] of models.entries()) {
      checkCancelled();
      const weights = await placeWeights(ctx, model.arch, model.source, {
        label: model.name,
        stream: options.streamWeights,
        onNote: options.onNote,
      });
      owned.push(weights);
      // The last token is never fed back: the cache holds the prompt and every token but the last.
      const capacity = prompts[i].length + request.maxTokens - 1;
      const decoder = new CachedDecoder(ctx, model.arch, weights, capacity, prompts[i].length);
      owned.push(decoder);
      continuations.push(new Continuation(model, decoder, prompts[i], request));
    }
    for (const continuation of continuations) {
      checkCancelled();
      await continuation.prefill();
    }
    for (let step = 0; step < request.maxTokens; step++) {
      for (const [model, continuation] of continuations.entries()) {
        checkCancelled();
        const token = await continuation.next();
        if (token) options.onToken?.({ model, ...token }, continuation.stats);
      }
    }
    return continuations.map((c) => c.stats);
  } finally {
    for (const resource of owned.reverse()) resource.destroy();
  }
}

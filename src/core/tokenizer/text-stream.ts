/**
 * Text for a stream of token ids, one piece per token, whose pieces join to what the tokenizer decodes for the
 * whole stream: each new token is decoded after a few tokens of context (SentencePiece and byte-level decoders
 * drop or change a leading space at the start of a text, so a token decoded alone may lose it), and a token that
 * ends in the middle of a character (one byte of a multi-byte character under byte fallback) gives "" until the
 * token that completes it. How transformers' TextStreamer and llama.cpp print generated text as it comes.
 */
import type { TextTokenizer } from './text-tokenizer';

/** Tokens of context kept for decoding the next one. */
const CONTEXT = 4;
/** A character is at most 4 bytes: past that many pending tokens the replacement character is real. */
const MAX_PENDING = 4;
const REPLACEMENT = '\uFFFD';

export class TokenTextStream {
  private context: number[];
  private pending: number[] = [];

  /** `context`: ids that came before the stream (a prompt), which are not printed. */
  constructor(
    private readonly tokenizer: TextTokenizer,
    context: ArrayLike<number> = [],
  ) {
    this.context = Array.from(context).slice(-CONTEXT);
  }

  /** The text that `id` adds: "" while it leaves a character unfinished. */
  push(id: number): string {
    this.pending.push(id);
    const before = this.decode(this.context);
    const after = this.decode([...this.context, ...this.pending]);
    if (after.endsWith(REPLACEMENT) && this.pending.length < MAX_PENDING) return '';
    this.context = [...this.context, ...this.pending].slice(-CONTEXT);
    this.pending = [];
    // A decoder that rewrites its context (rare) gets the new text whole rather than a wrong cut.
    return after.startsWith(before) ? after.slice(before.length) : after;
  }

  /** Some tokenizers refuse to decode no ids at all. */
  private decode(ids: number[]): string {
    return ids.length === 0 ? '' : this.tokenizer.decode(ids);
  }

  /** What pending tokens decode to, at the end of the stream. */
  flush(): string {
    if (this.pending.length === 0) return '';
    const before = this.decode(this.context);
    const after = this.decode([...this.context, ...this.pending]);
    this.pending = [];
    return after.startsWith(before) ? after.slice(before.length) : after;
  }
}

/** One text piece per id of `ids`, joining to their decoded text (the first decoded with no context). */
export function tokenPieces(tokenizer: TextTokenizer, ids: ArrayLike<number>): string[] {
  const stream = new TokenTextStream(tokenizer);
  const pieces = Array.from(ids, (id) => stream.push(id));
  if (pieces.length > 0) pieces[pieces.length - 1] += stream.flush();
  return pieces;
}

/**
 * The paper's perplexity protocol (as in the SparseGPT/GPTQ evaluation code): the evaluation text is joined and
 * tokenized once, cut into non-overlapping windows of `seqlen` tokens (the remainder is dropped), each window is
 * scored on its own (its first token is context only), and perplexity is exp of the mean NLL over all predicted
 * tokens.
 */
export interface EvaluationWindows {
  /** Row-major [windows, seqlen]. */
  ids: Int32Array;
  windows: number;
  seqlen: number;
  /** Tokens of the text that fall past the last whole window and are not scored. */
  droppedTokens: number;
  notes: string[];
}

export class EvaluationTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvaluationTextError';
  }
}

export function evaluationWindows(
  tokens: ArrayLike<number>,
  seqlen: number,
  maxWindows?: number,
): EvaluationWindows {
  const notes: string[] = [];
  let length = seqlen;
  if (tokens.length < 2) {
    throw new EvaluationTextError(
      `The evaluation text is too short to measure perplexity: it has ${tokens.length} token(s), at least 2 are needed.`,
    );
  }
  if (tokens.length < length) {
    notes.push(
      `The evaluation text has ${tokens.length} tokens, fewer than one window of ${length}; scored one window of ` +
        `${tokens.length} tokens instead.`,
    );
    length = tokens.length;
  }
  let windows = Math.floor(tokens.length / length);
  if (maxWindows !== undefined && windows > maxWindows) {
    notes.push(windowLimitNote(maxWindows, windows));
    windows = maxWindows;
  }
  const ids = new Int32Array(windows * length);
  for (let i = 0; i < ids.length; i++) ids[i] = tokens[i];
  return { ids, windows, seqlen: length, droppedTokens: tokens.length - windows * length, notes };
}

/** The note a limit on scored windows gives: information the user asked for, not a warning. */
export function windowLimitNote(scored: number, windows: number): string {
  return `Scores the first ${scored} of ${windows} evaluation windows.`;
}

/** Whether a note is windowLimitNote's (so a page can show it as information rather than as a warning). */
export function isWindowLimitNote(note: string): boolean {
  return /^Scores the first \d+ of \d+ evaluation windows\.$/.test(note);
}

/** Targets for next-token NLL: position t predicts token t+1 of the same window; the last position has none (-1). */
export function nextTokenTargets(ids: Int32Array, seqlen: number): Int32Array {
  const targets = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) targets[i] = (i + 1) % seqlen === 0 ? -1 : ids[i + 1];
  return targets;
}

export function perplexityFromNll(
  nll: ArrayLike<number>,
  targets: Int32Array,
): { meanNll: number; perplexity: number } {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < targets.length; i++) {
    if (targets[i] < 0) continue;
    sum += nll[i];
    count++;
  }
  const meanNll = sum / Math.max(count, 1);
  return { meanNll, perplexity: Math.exp(meanNll) };
}

/**
 * A direct port of llama2.c's run.c `encode` for tests: BOS, a dummy-prefix " " token for non-empty text, one token
 * per UTF-8 code point when the vocabulary has it (else one token per byte, id = byte + 3), then repeated greedy
 * merges of the adjacent pair whose concatenation is in the vocabulary with the best score (the first such pair on
 * ties). Scores are only compared, never computed with. Works on tok512.json's pieces (" " stands for "▁").
 */

export interface Llama2cTokenizerFile {
  pieces: string[];
  scores: number[];
}

export function llama2cEncode(vocab: Llama2cTokenizerFile, text: string, addBos = true): number[] {
  const idOf = new Map<string, number>();
  vocab.pieces.forEach((piece, id) => {
    if (!idOf.has(piece)) idOf.set(piece, id);
  });
  const tokens: number[] = addBos ? [1] : [];
  if (text !== '') tokens.push(idOf.get(' ') as number);
  for (const codePoint of text) {
    const id = idOf.get(codePoint);
    if (id !== undefined) tokens.push(id);
    else for (const byte of new TextEncoder().encode(codePoint)) tokens.push(byte + 3);
  }
  for (;;) {
    let bestScore = Number.NEGATIVE_INFINITY;
    let bestId = -1;
    let bestAt = -1;
    // Like run.c, BOS takes part; its piece "\n<s>\n" joined with anything is never in the vocabulary.
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = idOf.get(vocab.pieces[tokens[i]] + vocab.pieces[tokens[i + 1]]);
      if (id !== undefined && vocab.scores[id] > bestScore) {
        bestScore = vocab.scores[id];
        bestId = id;
        bestAt = i;
      }
    }
    if (bestAt < 0) return tokens;
    tokens.splice(bestAt, 2, bestId);
  }
}

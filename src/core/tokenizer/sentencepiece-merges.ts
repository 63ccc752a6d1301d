/**
 * BPE merges for a SentencePiece vocabulary that stores scores instead of merges (llama2.c's tokenizer.bin, a GGUF
 * `llama` vocabulary), derived as transformers' SentencePieceExtractor does: every split of a piece into two pieces
 * of the vocabulary, ordered by the merged piece's score (best first), then by the ids of the piece and its halves.
 */
export function mergesFromScores(
  pieces: readonly string[],
  scores: ArrayLike<number>,
  isPiece: (id: number) => boolean,
): [string, string][] {
  const ids = new Map<string, number>();
  pieces.forEach((piece, id) => {
    if (isPiece(id)) ids.set(piece, id);
  });
  const candidates: {
    left: string;
    right: string;
    score: number;
    id: number;
    leftId: number;
    rightId: number;
  }[] = [];
  pieces.forEach((piece, id) => {
    if (!isPiece(id)) return;
    const chars = Array.from(piece);
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join('');
      const right = chars.slice(k).join('');
      const leftId = ids.get(left);
      const rightId = ids.get(right);
      if (leftId !== undefined && rightId !== undefined) {
        candidates.push({ left, right, score: scores[id], id, leftId, rightId });
      }
    }
  });
  candidates.sort((a, b) => b.score - a.score || a.id - b.id || a.leftId - b.leftId || a.rightId - b.rightId);
  return candidates.map(({ left, right }) => [left, right]);
}

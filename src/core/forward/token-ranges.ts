/**
 * Token ranges: the hidden states and the attention output of a chunk held as several buffers, split by
 * tokens (the parts of a SplitMatrix), where one buffer would exceed one binding (one Llama-70B sequence of 8192
 * tokens has 256 MiB of hidden states, the default limit 128 MiB). Both split at the same tokens, token slices
 * never straddle two ranges, and attention writes each range's queries, which read the keys of their sequence from
 * its start, into that range's buffer: the output is bit-identical to an unsplit run.
 */
import type { GpuContext } from '../gpu/context';
import type { Architecture } from './architecture';
import { fitting, type ScratchSpec, widest } from './scratch-spec';

/**
 * Buffers over every token of a chunk that are split by token ranges where they exceed one binding: the hidden
 * states in and out (the caller's) and the attention output (every head group writes its columns for every token
 * before o_proj reads a row).
 */
export function tokenRangeSpecs(arch: Architecture): ScratchSpec[] {
  return [
    { name: 'hidden states', floatsPerToken: arch.hiddenSize },
    { name: 'attention output', floatsPerToken: arch.heads * arch.headDim },
  ];
}

/**
 * Tokens per buffer of hidden states and of the attention output where a chunk's do not fit one binding: one
 * count for both, so that they split at the same tokens and the token slices between them stay long.
 */
export function tokensPerRange(ctx: GpuContext, arch: Architecture): number {
  return fitting(ctx, widest(tokenRangeSpecs(arch)), 1);
}

/** Queries of one attention dispatch: positions [queryStart, queryEnd) of `sequences` sequences from firstSequence. */
export interface QueryRange {
  firstSequence: number;
  sequences: number;
  queryStart: number;
  queryEnd: number;
}

/**
 * The dispatches that attend to the tokens [from, to) of a chunk of sequences of seqLen: whole sequences in one,
 * a range's partial first and last sequences in one each. One dispatch of every sequence for the whole chunk.
 */
export function queryRanges(from: number, to: number, seqLen: number): QueryRange[] {
  const ranges: QueryRange[] = [];
  for (let token = from; token < to; ) {
    const sequence = Math.floor(token / seqLen);
    const queryStart = token - sequence * seqLen;
    const whole = queryStart === 0 ? Math.floor((to - token) / seqLen) : 0;
    if (whole > 0) {
      ranges.push({ firstSequence: sequence, sequences: whole, queryStart: 0, queryEnd: seqLen });
      token += whole * seqLen;
    } else {
      const queryEnd = Math.min(seqLen, to - sequence * seqLen);
      ranges.push({ firstSequence: sequence, sequences: 1, queryStart, queryEnd });
      token = sequence * seqLen + queryEnd;
    }
  }
  return ranges;
}

/**
 * Chunks: how many equal-length sequences (calibration samples, evaluation windows) one block call takes, and
 * whether a chunk fits this GPU's binding limit at all once split by token slices, head groups and token ranges
 * (see those modules).
 */
import type { GpuContext } from '../gpu/context';
import { requireBindable } from '../gpu/limits';
import type { Architecture } from './architecture';
import { fusedQkvSpec, oneHeadGroupSpec } from './head-groups';
import { fitting, type ScratchSpec, widest } from './scratch-spec';
import { tokenRangeSpecs } from './token-ranges';
import { sliceSpecs } from './token-slices';

/** `sequences` sequences of `seqLen` tokens each, laid out one after the other: [sequences·seqLen, …] rows. */
export interface ChunkShape {
  sequences: number;
  seqLen: number;
}

/**
 * Sequences per block call: as many as run on the fast path, with the hidden states, the attention output and the
 * whole q|k|v in one buffer each and the per-token work unsliced (the splits give the same block output, but
 * token slices and ranges capture fewer tokens at a time, and Hessians summed in other groupings round
 * differently), or
 * 1 where one sequence runs only split: in token slices (Llama-7B at seqLen 2048: its gate|up projection is
 * 172 MiB, the default binding limit 128 MiB), with attention in head groups (Llama-7B at seqLen 4096: its q|k|v
 * is 192 MiB) and/or with its hidden states and attention output in token ranges (Llama-70B at seqLen 8192: its
 * hidden states are 256 MiB). A BlockRunner takes larger chunks too, up to what one head group's q|k|v allows. 0
 * only when the q|k|v of one key/value head and its query heads for one sequence, or one token's row of an
 * intermediate, does not fit one binding; the BlockRunner then says which seqLen does.
 */
export function maxSequencesPerChunk(ctx: GpuContext, arch: Architecture, seqLen: number): number {
  const fastPath = widest([...tokenRangeSpecs(arch), fusedQkvSpec(arch), ...sliceSpecs(arch)]);
  const unsplit = fitting(ctx, fastPath, seqLen);
  if (unsplit >= 1) return unsplit;
  return fitting(ctx, oneHeadGroupSpec(arch), seqLen) >= 1 && rowsFit(ctx, arch) ? 1 : 0;
}

/** The widest row that one token needs in one binding, whatever else is split. */
function widestRow(arch: Architecture): ScratchSpec {
  return widest([...tokenRangeSpecs(arch), ...sliceSpecs(arch)]);
}

function rowsFit(ctx: GpuContext, arch: Architecture): boolean {
  return fitting(ctx, widestRow(arch), 1) >= 1;
}

/**
 * Throws a GpuLimitError, saying which sequences per chunk or seqLen fit, where a BlockRunner cannot take chunks
 * of this shape; checked where the hidden states are embedded too, so that a forward fails before any work.
 */
export function requireChunkFits(ctx: GpuContext, arch: Architecture, shape: ChunkShape): void {
  const { sequences, seqLen } = shape;
  if (!Number.isInteger(sequences) || sequences < 1 || !Number.isInteger(seqLen) || seqLen < 1) {
    throw new RangeError(`a chunk needs whole positive sequences and seqLen, got ${sequences} × ${seqLen}`);
  }
  // The one buffer that must hold the whole chunk: the smallest head group's q|k|v, since attention reads every
  // key of a sequence. Name it, since that is what the remedy is sized by.
  const spec = oneHeadGroupSpec(arch);
  const fit = fitting(ctx, spec, seqLen);
  requireBindable(
    ctx,
    sequences * seqLen * spec.floatsPerToken * 4,
    `the ${spec.name} of ${sequences} sequences × ${seqLen} tokens`,
    fit >= 1
      ? `lower the sequences per chunk to ${fit} or fewer`
      : `even one sequence is too long: lower seqLen to ${fitting(ctx, spec, 1)} or fewer`,
    spec.whole,
  );
  const row = widestRow(arch);
  requireBindable(
    ctx,
    row.floatsPerToken * 4,
    `the ${row.name} of a single token`,
    'this model is too wide for this GPU',
  );
}

/**
 * The model's input end: token embeddings (× √hidden for Gemma), learned positions (OPT, GPT-2) and OPT's
 * project_in, written into the hidden states of a chunk of sequences, which may be one buffer or split by token
 * ranges.
 *
 *   const embedding = await uploadEmbedding(ctx, arch, source);   // tokens, learned positions, OPT project_in
 *   for (const chunk of chunks) {                                  // chunk: `count` sequences of seqLen ids
 *     // Split by token ranges where one buffer would exceed the binding limit (token-ranges.ts tokensPerRange).
 *     chunk.hidden = SplitMatrix.allocate(ctx, perChunk * seqLen, arch.hiddenSize, 'hidden',
 *       { maxRowsPerPart: tokensPerRange(ctx, arch) });
 *     await embedInto(ctx, arch, embedding, chunkIds, { sequences: chunk.count, seqLen }, chunk.hidden);
 *   }
 *   embedding.destroy();                                           // not needed while blocks run
 *
 * embed writes one buffer (the hidden states must then fit one binding); embedInto takes hidden states split by
 * token ranges and embeds range by range. Bad token ids throw TokenIdError; positions past OPT/GPT-2's learned
 * table say what seqLen fits.
 */
import { createStorageBuffer, uploadArray } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { itemsPerBinding, requireBindable } from '../gpu/limits';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import type { Architecture } from './architecture';
import { type TensorSource, uploadMatrix } from './block-weights';
import { encodeGather } from './kernels/embedding';
import { encodeLinear } from './kernels/linear';

export interface EmbeddingWeights {
  tokens: SplitMatrix;
  positions?: SplitMatrix;
  projectIn?: SplitMatrix;
  destroy(): void;
}

export class TokenIdError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'TokenIdError';
  }
}

export async function uploadEmbedding(
  ctx: GpuContext,
  arch: Architecture,
  source: TensorSource,
): Promise<EmbeddingWeights> {
  const tokens = await uploadMatrix(ctx, source, arch.embedding);
  const positions = arch.positions ? await uploadMatrix(ctx, source, arch.positions) : undefined;
  const projectIn = arch.projectIn ? await uploadMatrix(ctx, source, arch.projectIn) : undefined;
  return {
    tokens,
    positions,
    projectIn,
    destroy() {
      tokens.destroy();
      positions?.destroy();
      projectIn?.destroy();
    },
  };
}

export interface EmbedShape {
  sequences: number;
  seqLen: number;
  positionOffset?: number;
}

export interface EmbedOptions extends EmbedShape {
  /** Written if given (at least sequences·seqLen·hidden floats), else a new buffer the caller owns. */
  out?: GPUBuffer;
}

/**
 * Throws where the hidden states of a chunk do not fit one storage binding, for `embed`, which writes them to one
 * buffer: SequenceStates (and embedInto) hold larger chunks split by token ranges. Checked before the buffer is
 * created, whose own size limit would otherwise fail first with no advice.
 */
export function requireHiddenStatesFit(
  ctx: GpuContext,
  arch: Architecture,
  { sequences, seqLen }: { sequences: number; seqLen: number },
): void {
  requireBindable(
    ctx,
    sequences * seqLen * arch.hiddenSize * 4,
    `the hidden states of ${sequences} sequences × ${seqLen} tokens in one buffer`,
    'embed them into a SplitMatrix split by token ranges (embedInto)',
  );
}

/**
 * Hidden states [sequences·seqLen, hidden] in one buffer for token ids laid out the same way: token embeddings,
 * OPT's project_in, plus learned positions (each sequence starts at positionOffset).
 */
export async function embed(
  ctx: GpuContext,
  arch: Architecture,
  weights: EmbeddingWeights,
  ids: ArrayLike<number>,
  options: EmbedOptions,
): Promise<GPUBuffer> {
  const tokens = options.sequences * options.seqLen;
  const H = arch.hiddenSize;
  const embeddingIds = checkedEmbeddingIds(arch, ids, options);
  requireHiddenStatesFit(ctx, arch, options);
  if (options.out && options.out.size < tokens * H * 4)
    throw new RangeError(`embed: the output buffer is too small for ${tokens} tokens`);
  const out = options.out ?? createStorageBuffer(ctx, tokens * H * 4, 'hidden states');
  try {
    await embedRows(ctx, arch, weights, embeddingIds, SplitMatrix.over(ctx, out, tokens, H, 'hidden states'));
  } catch (error) {
    if (!options.out) out.destroy();
    throw error;
  }
  return out;
}

/**
 * The same into hidden states held as a SplitMatrix, which may be split by token ranges (a chunk's hidden states
 * can exceed one binding: one Llama-70B sequence of 8192 tokens is 256 MiB): each range is embedded on its own.
 */
export async function embedInto(
  ctx: GpuContext,
  arch: Architecture,
  weights: EmbeddingWeights,
  ids: ArrayLike<number>,
  shape: EmbedShape,
  out: SplitMatrix,
): Promise<void> {
  const tokens = shape.sequences * shape.seqLen;
  const embeddingIds = checkedEmbeddingIds(arch, ids, shape);
  if (out.cols !== arch.hiddenSize || out.rows < tokens) {
    throw new RangeError(
      `embed: the hidden states are ${out.rows}×${out.cols}, too small for ${tokens} tokens`,
    );
  }
  await embedRows(ctx, arch, weights, embeddingIds, out);
}

/** Token ids (and learned position ids) of a chunk, checked against the vocabulary and the position table. */
interface EmbeddingIds {
  tokens: Uint32Array;
  positions?: Uint32Array;
}

function checkedEmbeddingIds(arch: Architecture, ids: ArrayLike<number>, shape: EmbedShape): EmbeddingIds {
  const { sequences, seqLen } = shape;
  if (ids.length !== sequences * seqLen) {
    throw new TokenIdError(
      `embed: got ${ids.length} token ids for ${sequences} sequences × ${seqLen} tokens`,
    );
  }
  const tokens = checkedIds(ids, arch.vocabSize);
  const positions = arch.positions
    ? positionIdsFor(arch, sequences, seqLen, shape.positionOffset ?? 0)
    : undefined;
  return { tokens, positions };
}

/**
 * Embeds rows [0, ids.tokens.length) of `out` part by part. A part's rows go in token slices where OPT's project_in
 * needs scratch wider than the hidden states (its gathered embeddings), so that the scratch fits one binding too;
 * one part in one slice is the unsplit embedding, dispatch for dispatch.
 */
async function embedRows(
  ctx: GpuContext,
  arch: Architecture,
  weights: EmbeddingWeights,
  ids: EmbeddingIds,
  out: SplitMatrix,
): Promise<void> {
  const scratchWidth = Math.max(arch.hiddenSize, weights.projectIn?.cols ?? 0);
  requireBindable(ctx, scratchWidth * 4, 'one token embedding', 'this model is too wide for this GPU');
  const perSlice = itemsPerBinding(ctx, scratchWidth * 4);
  await withErrorScope(ctx, 'embedding', () => {
    for (const [part, from, to] of out.overlaps(0, ids.tokens.length)) {
      for (let start = from; start < to; start += perSlice) {
        const count = Math.min(perSlice, to - start);
        const recorder = new CommandRecorder(ctx, 'embedding');
        encodeEmbedding(ctx, arch, recorder, weights, {
          tokens: ids.tokens.subarray(start, start + count),
          positions: ids.positions?.subarray(start, start + count),
          Y: part.buffer,
          yRowStart: start - part.firstRow,
        });
        recorder.submit();
        recorder.destroy();
      }
    }
  });
}

/**
 * Encodes the embedding of `ids.tokens.length` tokens into rows [yRowStart, …) of Y. Without project_in the
 * gathers write Y directly, from row 0 (embedRows only slices a part's rows where project_in is there).
 */
function encodeEmbedding(
  ctx: GpuContext,
  arch: Architecture,
  recorder: CommandRecorder,
  weights: EmbeddingWeights,
  piece: { tokens: Uint32Array; positions?: Uint32Array; Y: GPUBuffer; yRowStart: number },
): void {
  const tokens = piece.tokens.length;
  const H = arch.hiddenSize;
  const projectIn = weights.projectIn;
  if (!projectIn && piece.yRowStart !== 0) throw new Error('embedding: gathers write from row 0');
  const idBuffer = recorder.untilSubmit(uploadArray(ctx, piece.tokens, 'token ids'));
  const gathered = projectIn
    ? recorder.untilSubmit(createStorageBuffer(ctx, tokens * projectIn.cols * 4, 'token embeddings'))
    : piece.Y;
  encodeGather(ctx, recorder, {
    table: weights.tokens,
    ids: idBuffer,
    tokens,
    Y: gathered,
    accumulate: false,
    scale: arch.embeddingScale,
  });
  let positionsAdded: GPUBuffer | undefined;
  if (weights.positions && piece.positions) {
    const positionBuffer = recorder.untilSubmit(uploadArray(ctx, piece.positions, 'position ids'));
    // With project_in the positions are added to its output: gather them into their own buffer first.
    positionsAdded = projectIn
      ? recorder.untilSubmit(createStorageBuffer(ctx, tokens * H * 4, 'position embeddings'))
      : piece.Y;
    encodeGather(ctx, recorder, {
      table: weights.positions,
      ids: positionBuffer,
      tokens,
      Y: positionsAdded,
      accumulate: !projectIn,
    });
  }
  if (projectIn) {
    encodeLinear(ctx, recorder, {
      X: gathered,
      tokens,
      W: projectIn,
      residual: positionsAdded,
      Y: piece.Y,
      yRowStart: piece.yRowStart,
    });
  }
}

function positionIdsFor(arch: Architecture, sequences: number, seqLen: number, offset: number): Uint32Array {
  const positions = arch.positions!;
  const last = offset + seqLen - 1 + positions.offset;
  if (last >= positions.rows) {
    throw new TokenIdError(
      `position ${offset + seqLen - 1} is past this model's ${positions.rows - positions.offset} learned positions: ` +
        `lower seqLen to ${positions.rows - positions.offset - offset} or fewer`,
    );
  }
  const ids = new Uint32Array(sequences * seqLen);
  for (let t = 0; t < ids.length; t++) ids[t] = offset + (t % seqLen) + positions.offset;
  return ids;
}

function checkedIds(ids: ArrayLike<number>, vocab: number): Uint32Array {
  const out = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new TokenIdError(`token id ${id} at position ${i} is outside the vocabulary [0, ${vocab})`);
    }
    out[i] = id;
  }
  return out;
}

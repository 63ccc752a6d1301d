/**
 * A whole dense forward to per-token NLL, layer by layer: every chunk of sequences is embedded, then each block is
 * uploaded once and run over all chunks, then the LM head scores them. Only one block's weights are on the GPU at
 * a time; the hidden states of all sequences are (sequences · seqLen · hidden · 4 bytes), each chunk's split by
 * token ranges where it exceeds one storage binding.
 */
import type { GpuContext } from '../gpu/context';
import type { Architecture } from './architecture';
import { BlockRunner } from './block-runner';
import { type TensorSource, uploadBlock } from './block-weights';
import { maxSequencesPerChunk } from './chunk-fit';
import { uploadEmbedding } from './embedding';
import { requireGpuForward } from './gpu-support';
import { uploadHead } from './head';
import { SequenceStates } from './sequence-states';

export interface ModelNllOptions {
  seqLen: number;
  /** Sequences per block call (default: as many as the binding limit allows, at most 8). */
  sequencesPerChunk?: number;
  positionOffset?: number;
  /** Called after each block has run over every chunk. */
  onBlock?: (index: number) => void;
}

/** NLL of ids[t + 1] at each position t of each sequence (row-major [sequences, seqLen]); NaN at sequence ends. */
export async function modelNll(
  ctx: GpuContext,
  arch: Architecture,
  source: TensorSource,
  ids: Int32Array,
  options: ModelNllOptions,
): Promise<Float64Array> {
  const { seqLen } = options;
  const sequences = ids.length / seqLen;
  if (!Number.isInteger(sequences) || sequences < 1) {
    throw new RangeError(`${ids.length} token ids do not make whole sequences of ${seqLen}`);
  }
  requireGpuForward(arch);
  // Where even one sequence cannot run, SequenceStates.embed explains what to lower.
  const fit = Math.max(1, maxSequencesPerChunk(ctx, arch, seqLen));
  const perChunk = Math.min(options.sequencesPerChunk ?? Math.min(8, fit), sequences);
  let states: SequenceStates | undefined;
  let runner: BlockRunner | undefined;
  try {
    const embedding = await uploadEmbedding(ctx, arch, source);
    try {
      states = await SequenceStates.embed(
        ctx,
        arch,
        embedding,
        ids,
        seqLen,
        perChunk,
        'evaluation',
        options.positionOffset,
      );
    } finally {
      embedding.destroy();
    }
    runner = new BlockRunner(ctx, arch, { sequences: perChunk, seqLen });
    for (let index = 0; index < arch.numBlocks; index++) {
      const weights = await uploadBlock(ctx, arch, index, source);
      try {
        await states.run(runner, weights);
      } finally {
        weights.destroy();
      }
      options.onBlock?.(index);
    }
    const head = await uploadHead(ctx, arch, source);
    try {
      return (await states.nll(head)).nll;
    } finally {
      head.destroy();
    }
  } finally {
    runner?.destroy();
    states?.destroy();
  }
}

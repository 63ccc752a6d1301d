/**
 * A whole dense forward to per-token NLL, layer by layer: every chunk of sequences is embedded, then each block is
 * uploaded once and run over all chunks, then the LM head scores them. Only one block's weights are on the GPU at
 * a time; the hidden states of all sequences are (sequences · seqLen · hidden · 4 bytes).
 */
import { nextTokenTargets } from '../eval/perplexity-windows';
import { createStorageBuffer } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import type { Architecture } from './architecture';
import { BlockRunner, maxSequencesPerChunk } from './block-runner';
import { type TensorSource, uploadBlock } from './block-weights';
import { embed, nll, uploadEmbedding, uploadHead } from './model-ends';

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
  // Past the binding limit the BlockRunner below explains what to lower.
  const fit = Math.max(1, maxSequencesPerChunk(ctx, arch, seqLen));
  const perChunk = Math.min(options.sequencesPerChunk ?? Math.min(8, fit), sequences);
  const chunks: Array<{ start: number; count: number; hidden: GPUBuffer }> = [];
  const bytesPerSequence = seqLen * arch.hiddenSize * 4;
  let spare: GPUBuffer | undefined;
  let runner: BlockRunner | undefined;
  try {
    const embedding = await uploadEmbedding(ctx, arch, source);
    try {
      for (let start = 0; start < sequences; start += perChunk) {
        const count = Math.min(perChunk, sequences - start);
        const chunkIds = ids.subarray(start * seqLen, (start + count) * seqLen);
        const shape = { sequences: count, seqLen, positionOffset: options.positionOffset };
        // Full-size buffers for every chunk: they trade places with the spare as blocks run.
        const out = createStorageBuffer(ctx, perChunk * bytesPerSequence, 'hidden states');
        chunks.push({ start, count, hidden: out });
        await embed(ctx, arch, embedding, chunkIds, { ...shape, out });
      }
    } finally {
      embedding.destroy();
    }
    runner = new BlockRunner(ctx, arch, { sequences: perChunk, seqLen });
    spare = createStorageBuffer(ctx, perChunk * bytesPerSequence, 'hidden states');
    for (let index = 0; index < arch.numBlocks; index++) {
      const weights = await uploadBlock(ctx, arch, index, source);
      try {
        for (const chunk of chunks) {
          const out: GPUBuffer = spare;
          await runner.run(weights, chunk.hidden, out, {
            sequences: chunk.count,
            seqLen,
            positionOffset: options.positionOffset,
          });
          spare = chunk.hidden;
          chunk.hidden = out;
        }
      } finally {
        weights.destroy();
      }
      options.onBlock?.(index);
    }
    const head = await uploadHead(ctx, arch, source);
    try {
      const result = new Float64Array(ids.length);
      const targets = nextTokenTargets(ids, seqLen);
      for (const chunk of chunks) {
        const range = [chunk.start * seqLen, (chunk.start + chunk.count) * seqLen];
        result.set(await nll(ctx, arch, head, chunk.hidden, targets.subarray(range[0], range[1])), range[0]);
      }
      return result;
    } finally {
      head.destroy();
    }
  } finally {
    runner?.destroy();
    spare?.destroy();
    for (const chunk of chunks) chunk.hidden.destroy();
  }
}

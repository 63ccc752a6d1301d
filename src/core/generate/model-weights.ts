/**
 * A model's weights on the GPU for generation. The pruning pipeline holds one block at a time, since it streams the
 * checkpoint once; generation runs every block at every step, so the blocks stay resident where they fit. Where
 * they do not (the GPU runs out of memory while they are uploaded), the blocks are streamed instead: each step
 * uploads each block from the checkpoint, runs it and frees it — slow, but correct, and said to the user. The
 * embedding and the LM head stay resident either way.
 */

import { formatBytes } from '../format-bytes';
import { type Architecture, storedShape } from '../forward/architecture';
import { type BlockWeights, type TensorSource, uploadBlock } from '../forward/block-weights';
import { type EmbeddingWeights, uploadEmbedding } from '../forward/embedding';
import { type HeadWeights, uploadHead } from '../forward/head';
import type { GpuContext } from '../gpu/context';
import { GpuOutOfMemoryError } from '../gpu/errors';
import { withErrorScope } from '../gpu/pipelines';

export interface GenerationWeights {
  embedding: EmbeddingWeights;
  head: HeadWeights;
  /** True when every block is on the GPU; false when each step uploads them one at a time. */
  readonly resident: boolean;
  /** Runs `use` with block `index`'s weights: the resident ones, or uploaded for the call and freed after it. */
  withBlock<T>(index: number, use: (weights: BlockWeights) => Promise<T>): Promise<T>;
  destroy(): void;
}

/** f32 bytes of every block's linears (biases and norms are a rounding error next to them). */
export function blockWeightBytes(arch: Architecture): number {
  return arch.prunableLinears().reduce((sum, l) => sum + storedShape(l)[0] * storedShape(l)[1] * 4, 0);
}

export interface PlaceOptions {
  /** Stream the blocks rather than keep them resident (for tests; otherwise only after running out of memory). */
  stream?: boolean;
}

/**
 * Uploads the embedding and the head, and every block where they fit; a GPU out of memory while the blocks go up
 * frees them again and streams them. `onNote` hears which way it went when the blocks are streamed.
 */
export async function placeWeights(
  ctx: GpuContext,
  arch: Architecture,
  source: TensorSource,
  options: PlaceOptions & { label: string; onNote?: (message: string) => void },
): Promise<GenerationWeights> {
  const embedding = await uploadEmbedding(ctx, arch, source);
  let head: HeadWeights | undefined;
  try {
    head = await uploadHead(ctx, arch, source);
    const blocks = options.stream ? undefined : await uploadResident(ctx, arch, source);
    if (!blocks) {
      options.onNote?.(
        `${options.label}: its ${arch.numBlocks} blocks (${formatBytes(blockWeightBytes(arch))} as f32) do not fit on ` +
          'this GPU beside each other, so every generated token uploads them one at a time: this is slow.',
      );
    }
    return weightsOf(ctx, arch, source, embedding, head, blocks);
  } catch (error) {
    embedding.destroy();
    head?.destroy();
    throw error;
  }
}

/** Every block uploaded, or undefined when the GPU ran out of memory on the way (nothing is left behind). */
async function uploadResident(
  ctx: GpuContext,
  arch: Architecture,
  source: TensorSource,
): Promise<BlockWeights[] | undefined> {
  const blocks: BlockWeights[] = [];
  try {
    await withErrorScope(ctx, 'uploading the model for generation', async () => {
      for (let index = 0; index < arch.numBlocks; index++)
        blocks.push(await uploadBlock(ctx, arch, index, source));
    });
    return blocks;
  } catch (error) {
    for (const block of blocks) block.destroy();
    if (error instanceof GpuOutOfMemoryError) return undefined;
    throw error;
  }
}

function weightsOf(
  ctx: GpuContext,
  arch: Architecture,
  source: TensorSource,
  embedding: EmbeddingWeights,
  head: HeadWeights,
  blocks: BlockWeights[] | undefined,
): GenerationWeights {
  return {
    embedding,
    head,
    resident: blocks !== undefined,
    async withBlock(index, use) {
      if (blocks) return use(blocks[index]);
      const weights = await uploadBlock(ctx, arch, index, source);
      try {
        return await use(weights);
      } finally {
        weights.destroy();
      }
    },
    destroy() {
      embedding.destroy();
      head.destroy();
      for (const block of blocks ?? []) block.destroy();
    },
  };
}

/**
 * One sequence through a model with a KV cache: `feed` runs tokens at the next positions through every block (the
 * same BlockRunner as every forward of this tool, which stores their keys and values in the cache) and returns the
 * logits after the last of them. The prompt goes in whole where it fits the GPU's bindings as one sequence, else in
 * the longest pieces that do, the later pieces attending over the cache; then one token per step.
 *
 * A RoPE whose frequencies depend on the sequence's length (LongRoPE past its original context, dynamic scaling)
 * rotates every key with those of the whole sequence, as one forward over it does: where a step changes them, the
 * cache is computed again from the start (as transformers' Phi-3 does once, when generation crosses its original
 * context), so the cached path stays the model's forward.
 */
import type { Architecture } from '../forward/architecture';
import { BlockRunner } from '../forward/block-runner';
import { maxSequencesPerChunk } from '../forward/chunk-fit';
import { embedInto } from '../forward/embedding';
import { logitsAt } from '../forward/head';
import { KeyValueCache } from '../forward/kv-cache';
import { type RopeSpec, ropeChangesBetween } from '../forward/rope';
import { tokensPerRange } from '../forward/token-ranges';
import type { GpuContext } from '../gpu/context';
import { GpuLimitError } from '../gpu/limits';
import { SplitMatrix } from '../gpu/split-matrix';
import type { GenerationWeights } from './model-weights';

/** The longest piece of one sequence (at most `tokens`) that a block call takes on this GPU. */
export function prefillPiece(ctx: GpuContext, arch: Architecture, tokens: number): number {
  let [fits, fails] = [0, tokens + 1];
  while (fails - fits > 1) {
    const middle = Math.floor((fits + fails) / 2);
    if (maxSequencesPerChunk(ctx, arch, middle) >= 1) fits = middle;
    else fails = middle;
  }
  if (fits < 1)
    throw new GpuLimitError(`${arch.config.modelType}: not even one token fits this GPU's bindings`);
  return fits;
}

export class CachedDecoder {
  private readonly cache: KeyValueCache;
  private readonly runner: BlockRunner;
  /** Tokens per block call: the prompt's pieces are at most this long. */
  readonly piece: number;
  /** Every token fed so far, for recomputing the cache when RoPE's frequencies change. */
  private readonly fed: number[] = [];
  private readonly ropes: RopeSpec[];
  /** Times the cache was computed again from the start (RoPE's frequencies changed). */
  recomputed = 0;

  /** A decoder for sequences of up to `capacity` tokens whose first feed is `firstFeed` tokens long. */
  constructor(
    private readonly ctx: GpuContext,
    private readonly arch: Architecture,
    private readonly weights: GenerationWeights,
    capacity: number,
    firstFeed: number,
  ) {
    this.piece = prefillPiece(ctx, arch, Math.max(1, firstFeed));
    const blockRopes = Array.from({ length: arch.numBlocks }, (_, i) => arch.block(i).rope);
    this.ropes = [arch.rope, ...blockRopes].filter((rope): rope is RopeSpec => rope !== undefined);
    this.cache = new KeyValueCache(ctx, arch, capacity);
    try {
      this.runner = new BlockRunner(ctx, arch, { sequences: 1, seqLen: this.piece });
    } catch (error) {
      this.cache.destroy();
      throw error;
    }
  }

  /** Positions fed so far. */
  get length(): number {
    return this.fed.length;
  }

  /** Runs `ids` at the next positions, piece by piece; the logits [vocab] after the last of them. */
  async feed(ids: ArrayLike<number>): Promise<Float32Array> {
    if (ids.length === 0) throw new RangeError('feed needs at least one token');
    const length = this.fed.length + ids.length;
    if (length > this.cache.capacity) {
      throw new RangeError(
        `the sequence would be ${length} tokens; this decoder holds ${this.cache.capacity}`,
      );
    }
    const from = this.fed.length;
    const again = from > 0 && this.ropes.some((rope) => ropeChangesBetween(rope, from, length));
    if (again) this.recomputed++;
    this.fed.push(...Array.from(ids));
    // The cache's positions before `start` stay; the rest (all of them when RoPE changed) are computed now.
    const start = again ? 0 : from;
    let logits: Float32Array | undefined;
    for (let piece = start; piece < length; piece += this.piece) {
      const end = Math.min(piece + this.piece, length);
      logits = await this.run(piece, this.fed.slice(piece, end), end === length);
    }
    return logits as Float32Array;
  }

  private async run(position: number, ids: number[], wantLogits: boolean): Promise<Float32Array | undefined> {
    const { ctx, arch, weights } = this;
    const sequenceLength = this.fed.length;
    const shape = { sequences: 1, seqLen: ids.length, positionOffset: position };
    const allocate = (label: string) =>
      SplitMatrix.allocate(ctx, ids.length, arch.hiddenSize, label, {
        maxRowsPerPart: tokensPerRange(ctx, arch),
      });
    let hidden = allocate('generation hidden states');
    let spare = allocate('generation hidden states');
    try {
      await embedInto(ctx, arch, weights.embedding, ids, shape, hidden);
      for (let index = 0; index < arch.numBlocks; index++) {
        const cache = this.cache.block(index);
        const options = { ...shape, cache, sequenceLength };
        await weights.withBlock(index, (block) => this.runner.run(block, hidden, spare, options));
        [hidden, spare] = [spare, hidden];
      }
      return wantLogits ? await logitsAt(ctx, arch, weights.head, hidden, [ids.length - 1]) : undefined;
    } finally {
      hidden.destroy();
      spare.destroy();
    }
  }

  destroy(): void {
    this.runner.destroy();
    this.cache.destroy();
  }
}

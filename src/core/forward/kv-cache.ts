/**
 * The KV cache of one sequence being generated: per block, the rotated keys and the values of every position seen so
 * far, [positions, kvHeads · headDim] each. A BlockRunner given a block's cache (RunBlockOptions.cache) stores the
 * keys and values of the tokens it runs there; its tokens past position 0 attend over the cache instead of over the
 * call's own tokens, so that generation runs one new token per step through the same blocks as the forward.
 *
 * Split like the rest of the forward: where a block's keys for the whole capacity exceed one storage binding (a
 * Llama-70B cache of 32k positions holds 256 MiB of keys per block with 8 key/value heads), they are held as several
 * buffers by positions, and attention folds them in turn (kernels/attention-decode.ts).
 */
import { formatBytes } from '../format-bytes';
import { createStorageBuffer } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import type { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import type { Architecture } from './architecture';
import type { HeadGroup } from './head-groups';
import type { AttentionScoresAndOutput } from './kernels/attention';
import { decodeStateFloats, encodeDecodeAttention } from './kernels/attention-decode';
import { encodeCacheStore } from './kernels/kv-cache-store';

/** Where a head group's projected q|k|v sits in the BlockRunner's buffer: [queries | keys | values] per token. */
export interface GroupProjection {
  qkv: GPUBuffer;
  heads: HeadGroup;
  rowStride: number;
  keyColumn: number;
  valueColumn: number;
}

/** What attention over the cache takes beyond the projection: the block's attention parameters and the output. */
export interface CachedAttentionArgs extends GroupProjection, AttentionScoresAndOutput {
  /** Query rows [queryRowStart, queryRowStart + queries) of the call, at positions position + row. */
  queryRowStart: number;
  queries: number;
  position: number;
  outColumn: number;
  outRowOffset: number;
}

/** One block's cache, as a BlockRunner call uses it. */
export interface BlockKeyValues {
  /** Stores the keys and values of the call's `tokens` tokens (rows 0…) at positions position, position + 1, … */
  store(recorder: CommandRecorder, projection: GroupProjection, tokens: number, position: number): void;
  /** Attention of the call's queries over every cached position up to each one's own. */
  attend(recorder: CommandRecorder, args: CachedAttentionArgs): void;
}

export class KeyValueCache {
  private readonly blocks: Array<{ keys: SplitMatrix; values: SplitMatrix }> = [];
  private state?: GPUBuffer;
  /** Positions stored so far (the same in every block once a step has run through all of them). */
  length = 0;

  /** Allocates every block's keys and values for `capacity` positions. */
  constructor(
    private readonly ctx: GpuContext,
    private readonly arch: Architecture,
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`a KV cache needs a whole positive number of positions, got ${capacity}`);
    }
    const width = arch.kvHeads * arch.headDim;
    try {
      for (let index = 0; index < arch.numBlocks; index++) {
        const keys = SplitMatrix.allocate(ctx, capacity, width, `block ${index} cached keys`);
        const values = SplitMatrix.allocate(ctx, capacity, width, `block ${index} cached values`, {
          maxRowsPerPart: keys.parts[0].rows,
        });
        this.blocks.push({ keys, values });
      }
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  /** GPU bytes of a cache of `capacity` positions for `arch`: keys and values of every block, in f32. */
  static bytes(arch: Architecture, capacity: number): number {
    return 2 * arch.numBlocks * capacity * arch.kvHeads * arch.headDim * 4;
  }

  static describe(arch: Architecture, capacity: number): string {
    return `a KV cache of ${capacity} positions (${formatBytes(KeyValueCache.bytes(arch, capacity))})`;
  }

  /** Parts each block's keys are split into (1 unless they exceed one binding). */
  get parts(): number {
    return this.blocks[0]?.keys.parts.length ?? 0;
  }

  block(index: number): BlockKeyValues {
    const cache = this.blocks[index];
    if (!cache) throw new RangeError(`the KV cache has no block ${index}`);
    const width = this.arch.kvHeads * this.arch.headDim;
    return {
      store: (recorder, projection, tokens, position) => {
        if (position + tokens > this.capacity) {
          throw new RangeError(
            `the KV cache holds ${this.capacity} positions; positions up to ${position + tokens} were asked for`,
          );
        }
        const groupWidth = projection.heads.kvHeads * this.arch.headDim;
        for (const [part, from, to] of cache.keys.overlaps(position, tokens)) {
          const values = cache.values.partHolding(from);
          encodeCacheStore(this.ctx, recorder, {
            qkv: projection.qkv,
            rowStride: projection.rowStride,
            qkvRow: from - position,
            tokens: to - from,
            keyColumn: projection.keyColumn,
            valueColumn: projection.valueColumn,
            width: groupWidth,
            keys: part.buffer,
            values: values.buffer,
            cacheRow: from - part.firstRow,
            cacheStride: width,
            cacheColumn: projection.heads.firstKvHead * this.arch.headDim,
          });
        }
      },
      attend: (recorder, args) => {
        const lastPosition = args.position + args.queryRowStart + args.queries;
        // Only the parts up to the last query's position hold keys it may see.
        const keys = cache.keys.overlaps(0, lastPosition).map(([part]) => part);
        const values = cache.values.overlaps(0, lastPosition).map(([part]) => part);
        const groupSize = this.arch.heads / this.arch.kvHeads;
        const heads = args.heads.kvHeads * groupSize;
        encodeDecodeAttention(this.ctx, recorder, {
          qkv: args.qkv,
          rowStride: args.rowStride,
          queryRowStart: args.queryRowStart,
          queries: args.queries,
          queryPosition: args.position,
          heads,
          groupSize,
          headDim: this.arch.headDim,
          keys,
          values,
          cacheStride: width,
          cacheColumn: args.heads.firstKvHead * this.arch.headDim,
          ...(keys.length > 1 ? { state: this.stateFor(recorder, args.queries * heads) } : {}),
          scale: args.scale,
          window: args.window,
          softcap: args.softcap,
          out: args.out,
          outStride: args.outStride,
          outColumn: args.outColumn,
          outRowOffset: args.outRowOffset,
        });
      },
    };
  }

  /**
   * The online-softmax state of `rows` (query, head) pairs, grown as needed and kept for later steps; a smaller one
   * lives until the recorder's work that may use it is submitted.
   */
  private stateFor(recorder: CommandRecorder, rows: number): GPUBuffer {
    const bytes = rows * decodeStateFloats(this.arch.headDim) * 4;
    if (!this.state || this.state.size < bytes) {
      if (this.state) recorder.untilSubmit(this.state);
      this.state = createStorageBuffer(this.ctx, bytes, 'decode attention state');
    }
    return this.state;
  }

  destroy(): void {
    for (const { keys, values } of this.blocks) {
      keys.destroy();
      values.destroy();
    }
    this.blocks.length = 0;
    this.state?.destroy();
    this.state = undefined;
  }
}

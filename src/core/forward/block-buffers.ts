/**
 * A BlockRunner's intermediates, sized once for chunks of up to `shape.sequences` × `shape.seqLen` tokens by the
 * three splits that keep every buffer bindable: the q|k|v of the widest head group (head-groups.ts) and the
 * attention output, in token ranges where needed (token-ranges.ts), for the whole chunk; the per-token
 * intermediates for one token slice (token-slices.ts); the experts' own for mixtures of experts (expert-mlp.ts).
 */
import { createStorageBuffer } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { SplitMatrix } from '../gpu/split-matrix';
import type { Architecture } from './architecture';
import { type ChunkShape, requireChunkFits } from './chunk-fit';
import { ExpertMlp } from './expert-mlp';
import { type HeadGroup, planHeadGroups, qkvFloatsPerToken } from './head-groups';
import { RopeTables } from './rope-tables';
import { tokensPerRange } from './token-ranges';
import { blockSliceSpecs, mlpShape, tokensPerSlice } from './token-slices';

export class BlockBuffers {
  /** Whole chunk: [tokens, the widest head group's q|k|v] in one buffer. */
  readonly qkv: GPUBuffer;
  /** Whole chunk: [tokens, heads · headDim], split by token ranges where it exceeds one binding. */
  readonly attention: SplitMatrix;
  /** One token slice each. */
  readonly normed: GPUBuffer;
  readonly residual: GPUBuffer;
  readonly up: GPUBuffer;
  readonly activated: GPUBuffer;
  /** Tokens of the largest chunk. */
  readonly maxTokens: number;
  /** Tokens per slice of the per-token work: the whole chunk where it fits one binding. */
  readonly sliceCapacity: number;
  /** Attention's head groups: one with every head unless the q|k|v of a chunk exceeds one binding. */
  readonly headGroups: readonly HeadGroup[];
  /** Mixture-of-experts blocks' router and experts, where the model has any. */
  readonly experts?: ExpertMlp;
  /** RoPE tables by spec and positions: a model's layers use one or two (Gemma 3's local and global). */
  readonly ropeTables: RopeTables;

  constructor(ctx: GpuContext, arch: Architecture, shape: ChunkShape) {
    requireChunkFits(ctx, arch, shape);
    const tokens = shape.sequences * shape.seqLen;
    this.maxTokens = tokens;
    this.sliceCapacity = Math.min(tokens, tokensPerSlice(ctx, arch));
    this.headGroups = planHeadGroups(ctx, arch, tokens);
    const qkvWidth = qkvFloatsPerToken(arch, this.headGroups[0].kvHeads);
    this.qkv = createStorageBuffer(ctx, tokens * qkvWidth * 4, 'block q|k|v projection');
    this.attention = SplitMatrix.allocate(ctx, tokens, arch.heads * arch.headDim, 'block attention output', {
      maxRowsPerPart: tokensPerRange(ctx, arch),
    });
    const [normed, residual, up, activated] = blockSliceSpecs(arch).map((s) =>
      createStorageBuffer(ctx, this.sliceCapacity * s.floatsPerToken * 4, `block ${s.name}`),
    );
    this.normed = normed;
    this.residual = residual;
    this.up = up;
    this.activated = activated ?? up;
    const { experts } = mlpShape(arch);
    if (experts > 0) {
      this.experts = new ExpertMlp(ctx, arch, this.sliceCapacity, experts, this.up, this.activated);
    }
    this.ropeTables = new RopeTables(ctx);
  }

  destroy(): void {
    const buffers = new Set([this.normed, this.residual, this.qkv, this.up, this.activated]);
    for (const buffer of buffers) buffer.destroy();
    this.attention.destroy();
    this.experts?.destroy();
    this.ropeTables.destroy();
  }
}

/**
 * Head groups: attention split by heads where the q|k|v of a whole chunk does not fit one binding (one
 * Llama-7B sequence of 4096 tokens needs 192 MiB, the default limit 128 MiB). A head group is a range of
 * key/value heads with the query heads that read them (query head h reads key/value head h / (heads / kvHeads), as
 * transformers' repeat_kv does; under multi-head attention every head is its own key/value head). Each group has
 * its rows of the fused q|k|v weight projected into one buffer, stored [queries | keys | values] per token, is
 * rotated and attended to, and writes its columns of the attention output; the next group reuses the buffer. Each
 * head's arithmetic is the same in any group, so the output is bit-identical to one group of every head.
 */
import type { GpuContext } from '../gpu/context';
import type { CommandRecorder } from '../gpu/recorder';
import type { Architecture } from './architecture';
import type { GroupWeights } from './block-weights';
import { encodeLinear } from './kernels/linear';
import { fitting, type ScratchSpec } from './scratch-spec';

export interface HeadGroup {
  firstKvHead: number;
  kvHeads: number;
}

/** Query heads per key/value head: 1 for multi-head attention. */
export function queriesPerKvHead(arch: Architecture): number {
  return arch.heads / arch.kvHeads;
}

/** Floats per token of the q|k|v of `kvHeads` key/value heads and their query heads. */
export function qkvFloatsPerToken(arch: Architecture, kvHeads: number): number {
  return kvHeads * (queriesPerKvHead(arch) + 2) * arch.headDim;
}

/** The smallest head group's q|k|v: the least of the projection that attention must hold for whole sequences. */
export function oneHeadGroupSpec(arch: Architecture): ScratchSpec {
  const perKvHead = queriesPerKvHead(arch);
  return {
    name:
      perKvHead === 1
        ? 'q|k|v projection (split to one head per group)'
        : `q|k|v projection (split to one key/value head and its ${perKvHead} query heads per group)`,
    floatsPerToken: qkvFloatsPerToken(arch, 1),
    whole: 'attention reads whole sequences',
  };
}

/** The whole q|k|v of a chunk, one buffer on the fast path (one fused projection, no head groups). */
export function fusedQkvSpec(arch: Architecture): ScratchSpec {
  return { name: 'q|k|v projection', floatsPerToken: qkvFloatsPerToken(arch, arch.kvHeads) };
}

/**
 * Head groups for chunks of `tokens`: one holding every head where the chunk's whole q|k|v fits one binding (the
 * fused projection as one matmul, the fast path), otherwise as few groups of near-equal size as fit. The chunk
 * must have passed requireChunkFits, so that one key/value head always fits.
 */
export function planHeadGroups(ctx: GpuContext, arch: Architecture, tokens: number): HeadGroup[] {
  const fit = Math.min(arch.kvHeads, fitting(ctx, oneHeadGroupSpec(arch), tokens));
  if (fit < 1)
    throw new RangeError(`one key/value head's q|k|v of ${tokens} tokens exceeds the binding limit`);
  const size = Math.ceil(arch.kvHeads / Math.ceil(arch.kvHeads / fit));
  const groups: HeadGroup[] = [];
  for (let first = 0; first < arch.kvHeads; first += size) {
    groups.push({ firstKvHead: first, kvHeads: Math.min(size, arch.kvHeads - first) });
  }
  return groups;
}

/** Rows [rowStart, rowStart + rows) of the fused q|k|v weight, written from `column` of a head group's q|k|v. */
interface ProjectionPart {
  rowStart: number;
  rows: number;
  column: number;
}

/**
 * The rows of the fused q|k|v weight (queries, then keys, then values, each head headDim rows) that project a head
 * group, merged where contiguous: a group of every head is the whole weight, as on the fast path.
 */
function projectionParts(arch: Architecture, group: HeadGroup): ProjectionPart[] {
  const { headDim } = arch;
  const queryRows = group.kvHeads * queriesPerKvHead(arch) * headDim;
  const kvRows = group.kvHeads * headDim;
  const q = arch.heads * headDim;
  const kv = arch.kvHeads * headDim;
  const parts: ProjectionPart[] = [
    { rowStart: group.firstKvHead * queriesPerKvHead(arch) * headDim, rows: queryRows, column: 0 },
    { rowStart: q + group.firstKvHead * headDim, rows: kvRows, column: queryRows },
    { rowStart: q + kv + group.firstKvHead * headDim, rows: kvRows, column: queryRows + kvRows },
  ];
  const merged: ProjectionPart[] = [];
  for (const part of parts) {
    const last = merged[merged.length - 1];
    if (last && last.rowStart + last.rows === part.rowStart && last.column + last.rows === part.column) {
      last.rows += part.rows;
    } else {
      merged.push({ ...part });
    }
  }
  return merged;
}

/**
 * Encodes a head group's q|k|v for `tokens` rows of X into rows [yRowStart, …) of `qkv`, stored
 * [queries | keys | values] per token: only the group's rows of the fused weight (and bias) are applied.
 */
export function encodeHeadGroupProjection(
  ctx: GpuContext,
  recorder: CommandRecorder,
  arch: Architecture,
  heads: HeadGroup,
  projection: { attention: GroupWeights; X: GPUBuffer; tokens: number; qkv: GPUBuffer; yRowStart: number },
): void {
  const { attention, X, tokens, qkv, yRowStart } = projection;
  const width = qkvFloatsPerToken(arch, heads.kvHeads);
  for (const part of projectionParts(arch, heads)) {
    encodeLinear(ctx, recorder, {
      X,
      tokens,
      W: attention.W,
      rowStart: part.rowStart,
      rows: part.rows,
      bias: attention.bias,
      Y: qkv,
      yRowStart,
      outStride: width,
      outColumnStart: part.column,
    });
  }
}

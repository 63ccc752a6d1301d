/** Host for shaders/solver/prune_block_walk.wgsl: SparseGPT's column walk over one block, per part of W. */
import shader from '../../../shaders/solver/prune_block_walk.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { computePipeline } from '../gpu/pipelines';
import type { CommandRecorder } from '../gpu/recorder';
import type { MatrixPart } from '../gpu/split-matrix';
import { selectVariant } from '../gpu/wgsl-variants';
import type { LazyUpdateBlock } from './lazy-update';
import type { ResolvedLayerPrune } from './settings';

/** Rows per workgroup of the walk: small, so that even a few hundred rows keep every CPU core of a software
 * adapter busy, and a multiple of a GPU's 32 or 64 lanes when each invocation owns one row. */
const WALK_ROWS_PER_WORKGROUP = 64;

/**
 * Rows each invocation walks: one on a GPU, which wants every row in flight; four on a CPU-backed adapter, where
 * a U load shared by four rows' FMAs is what counts.
 */
export function walkRowsPerInvocation(ctx: GpuContext): 1 | 4 {
  return ctx.adapter.isSoftware ? 4 : 1;
}

/** A block of the walk: the lazy update's, plus where the radix select left the block's threshold. */
export interface WalkBlock extends LazyUpdateBlock {
  /** Radix-select state holding the block's threshold (unstructured); bound but unused for N:M. */
  selectState: GPUBuffer;
}

export function encodePruneBlockWalk(
  ctx: GpuContext,
  recorder: CommandRecorder,
  part: MatrixPart,
  err: GPUBuffer,
  block: WalkBlock,
  settings: ResolvedLayerPrune,
): void {
  if (part.rows === 0) return;
  const nm = settings.pattern === 'unstructured' ? undefined : settings.pattern;
  const rowsPerInvocation = settings.walkRowsPerInvocation ?? walkRowsPerInvocation(ctx);
  const code = selectVariant(shader, { FOUR_ROWS: rowsPerInvocation === 4 });
  const pipeline = computePipeline(ctx, code, 'main', {
    ROWS: WALK_ROWS_PER_WORKGROUP / rowsPerInvocation,
    SUB: settings.subBlock,
    PATTERN: nm ? 1 : 0,
    PRUNE_N: nm?.n ?? 2,
    PRUNE_M: nm?.m ?? 4,
  });
  const params = recorder.params([
    block.columns,
    part.rows,
    block.blockStart,
    block.blockCount,
    block.errStride,
    block.panelStride,
  ]);
  recorder.dispatch(
    pipeline,
    [part.buffer, block.uPanel, err, block.selectState, params],
    Math.ceil(part.rows / WALK_ROWS_PER_WORKGROUP),
  );
}

/**
 * Host for shaders/solver/prune_block_walk.wgsl: SparseGPT's column walk over (part of) one block, per part of W,
 * pruning and, with a quantization, rounding each kept weight to its ggml block's grid (GPTQ).
 */
import ggmlBlocks from '../../../shaders/solver/ggml_blocks.wgsl?raw';
import shader from '../../../shaders/solver/prune_block_walk.wgsl?raw';
import { placeholderBuffer } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { computePipeline } from '../gpu/pipelines';
import type { CommandRecorder } from '../gpu/recorder';
import type { MatrixPart } from '../gpu/split-matrix';
import { selectVariant } from '../gpu/wgsl-variants';
import type { LazyUpdateBlock } from './lazy-update';
import type { ResolvedLayerPrune, ResolvedQuantization } from './settings';

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
  /** Radix-select state holding the block's threshold (unstructured); bound but unused otherwise. */
  selectState: GPUBuffer;
}

/**
 * Which weights the walk prunes: the block's threshold (unstructured), N of every M, none (quantization only),
 * or a baseline's zeros (`fixed`, from zero_mask_bits.wgsl).
 */
export type WalkMask = 'unstructured' | 'n:m' | 'none' | 'fixed';

const PATTERN_IDS: Record<WalkMask, number> = { unstructured: 0, 'n:m': 1, none: 2, fixed: 3 };

/** What one walk dispatch does to the part's rows, and the buffers beside W it reads and writes. */
export interface WalkPass {
  mask: WalkMask;
  /** Rounds each kept weight to this type's grid; undefined: weights are kept as they are. */
  quantization?: ResolvedQuantization;
  /** False for round-to-nearest: no error is computed or spread (U, Err and the select state are not read). */
  spread: boolean;
  /** Block columns [start, end) to walk, of [0, blockCount); errors reach every later column of the block. */
  range: { start: number; end: number };
  err: GPUBuffer;
  /** This part's scale words [rows, scaleStride] (quantized types with scales). */
  scales?: GPUBuffer;
  scaleStride?: number;
  /** This part's mask bits [rows, maskStride] (mask 'fixed'). */
  maskBits?: GPUBuffer;
  maskStride?: number;
}

/** The walk's WGSL with ggml's block rules in front (WGSL has no includes). */
function walkShader(fourRows: boolean): string {
  return `${ggmlBlocks}\n${selectVariant(shader, { FOUR_ROWS: fourRows })}`;
}

const shaders = new Map<boolean, string>();

export function encodePruneBlockWalk(
  ctx: GpuContext,
  recorder: CommandRecorder,
  part: MatrixPart,
  block: WalkBlock,
  settings: ResolvedLayerPrune,
  pass: WalkPass,
): void {
  if (part.rows === 0) return;
  const nm = settings.pattern === 'unstructured' ? undefined : settings.pattern;
  const rowsPerInvocation = settings.walkRowsPerInvocation ?? walkRowsPerInvocation(ctx);
  const fourRows = rowsPerInvocation === 4;
  let code = shaders.get(fourRows);
  if (!code) {
    code = walkShader(fourRows);
    shaders.set(fourRows, code);
  }
  const pipeline = computePipeline(ctx, code, 'main', {
    ROWS: WALK_ROWS_PER_WORKGROUP / rowsPerInvocation,
    SUB: settings.subBlock,
    PATTERN: PATTERN_IDS[pass.mask],
    PRUNE_N: nm?.n ?? 2,
    PRUNE_M: nm?.m ?? 4,
    QUANT: pass.quantization?.id ?? 0,
    SPREAD: pass.spread ? 1 : 0,
  });
  const params = recorder.params([
    block.columns,
    part.rows,
    block.blockStart,
    block.blockCount,
    block.errStride,
    block.panelStride,
    pass.range.start,
    pass.range.end,
    pass.scaleStride ?? 0,
    pass.maskStride ?? 0,
  ]);
  const placeholder = placeholderBuffer(ctx);
  recorder.dispatch(
    pipeline,
    [
      part.buffer,
      block.uPanel,
      pass.err,
      block.selectState,
      params,
      pass.scales ?? placeholder,
      pass.maskBits ?? placeholder,
    ],
    Math.ceil(part.rows / WALK_ROWS_PER_WORKGROUP),
  );
}

/**
 * Host for shaders/solver/quant_block_scales.wgsl: the scale words of ggml blocks of a W part from its current
 * values, for a run of consecutive blocks of every row (one block when the GPTQ walk reaches it; all of them for
 * round-to-nearest). Also the layout of those words, shared with the walk and with what reads them back.
 */
import ggmlBlocks from '../../../shaders/solver/ggml_blocks.wgsl?raw';
import shader from '../../../shaders/solver/quant_block_scales.wgsl?raw';
import { placeholderBuffer } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { workgroupGrid } from '../gpu/limits';
import { computePipeline } from '../gpu/pipelines';
import type { CommandRecorder } from '../gpu/recorder';
import type { MatrixPart } from '../gpu/split-matrix';
import type { ResolvedQuantization } from './settings';

const code = `${ggmlBlocks}\n${shader}`;

/** Scale words per row of a layer `columns` wide (0 for types without scales, such as F16). */
export function scaleStride(quantization: ResolvedQuantization, columns: number): number {
  return (columns / quantization.blockColumns) * quantization.scaleWords;
}

export interface ScaleRegion {
  columns: number;
  /** First column of the first block, a multiple of the block's columns. */
  groupStart: number;
  groupCount: number;
  scaleStride: number;
  /** SEARCH: the walk's panel U[blockStart …, :] (its diagonal weighs each column's error). */
  uPanel?: GPUBuffer;
  panelStride?: number;
  blockStart?: number;
}

export function encodeBlockScales(
  ctx: GpuContext,
  recorder: CommandRecorder,
  part: MatrixPart,
  scales: GPUBuffer,
  quantization: ResolvedQuantization,
  region: ScaleRegion,
): void {
  const items = part.rows * region.groupCount;
  if (items === 0 || quantization.scaleWords === 0) return;
  const search = quantization.search && region.uPanel !== undefined;
  const pipeline = computePipeline(ctx, code, 'main', { TYPE: quantization.id, SEARCH: search ? 1 : 0 });
  const params = recorder.params([
    region.columns,
    part.rows,
    region.groupStart,
    region.groupCount,
    region.scaleStride,
    region.panelStride ?? 0,
    region.blockStart ?? 0,
  ]);
  recorder.dispatch(
    pipeline,
    [part.buffer, scales, region.uPanel ?? placeholderBuffer(ctx), params],
    ...workgroupGrid(ctx, items, 64),
  );
}

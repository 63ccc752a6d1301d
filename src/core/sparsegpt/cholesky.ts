/**
 * Hosts for the blocked factorization that turns the damped Hessian into U, the upper Cholesky factor of H⁻¹
 * that SparseGPT walks: H = R·Rᵀ with R upper (a Cholesky run from the last column to the first; R = J·L·J for
 * the lower factor L of the reversed J·H·J), then U = R⁻¹ in place. One factorization and one triangular inverse,
 * both in 64-wide blocks whose FLOPs sit in register-tiled GEMM kernels.
 */

import diagonalShader from '../../../shaders/cholesky_diagonal_block.wgsl?raw';
import panelShader from '../../../shaders/cholesky_panel.wgsl?raw';
import trailingShader from '../../../shaders/cholesky_trailing_update.wgsl?raw';
import inverseShader from '../../../shaders/triangular_inverse_panel.wgsl?raw';
import { bindingLimit } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { computePipeline } from '../gpu/pipelines';
import { selectVariant } from '../gpu/wgsl-variants';
import { type ChunkedMatrix, chunkHolding, type MatrixChunk, ROW_ALIGN } from './chunked-matrix';
import { bindResources, dispatchIn, type GpuRun } from './gpu-run';

const BLOCK = ROW_ALIGN;
const BLOCK_BYTES = BLOCK * BLOCK * 4;

export interface FactorScratch {
  /** U_kk = R_kk⁻¹ of every diagonal block, 64×64 each, in buffers of `blocksPerBuffer` slots. */
  blockInverses: GPUBuffer[];
  blocksPerBuffer: number;
  /**
   * The dense [n, 64] panel, R12 during the factorization and R12·U22 during the inverse: one buffer where it fits
   * one binding, else one per row chunk of A. Which of the two never changes a result bit by itself; sums that
   * run over panel rows are split at the buffers' edges only in the second case.
   */
  panels: PanelPart[];
}

interface PanelPart {
  buffer: GPUBuffer;
  firstRow: number;
  rows: number;
}

export function createFactorScratch(ctx: GpuContext, run: GpuRun, A: ChunkedMatrix): FactorScratch {
  const limit = bindingLimit(ctx);
  if (BLOCK_BYTES > limit) {
    throw new RangeError(
      `this GPU's storage binding limit of ${limit} bytes is below one ${BLOCK}×${BLOCK} Cholesky block ` +
        `(${BLOCK_BYTES} bytes)`,
    );
  }
  const blocks = Math.ceil(A.cols / BLOCK);
  const blocksPerBuffer = Math.min(blocks, Math.floor(limit / BLOCK_BYTES));
  const blockInverses: GPUBuffer[] = [];
  for (let first = 0; first < blocks; first += blocksPerBuffer) {
    blockInverses.push(run.buffer(Math.min(blocksPerBuffer, blocks - first) * BLOCK_BYTES, 'blockInverses'));
  }
  // A per-chunk panel holds 64 floats per row of its A chunk, which holds at least as many (A is wider than one
  // block whenever a panel is used), so it fits wherever the A chunk does.
  const parts = A.cols * BLOCK * 4 <= limit ? [{ firstRow: 0, rows: A.cols }] : A.chunks;
  const panels = parts.map(({ firstRow, rows }) => ({
    buffer: run.buffer(rows * BLOCK * 4, 'panel'),
    firstRow,
    rows,
  }));
  return { blockInverses, blocksPerBuffer, panels };
}

interface Block {
  index: number;
  start: number;
  size: number;
}

function blocksOf(n: number): Block[] {
  const blocks: Block[] = [];
  for (let start = 0, index = 0; start < n; start += BLOCK, index++) {
    blocks.push({ index, start, size: Math.min(BLOCK, n - start) });
  }
  return blocks;
}

/** Rows of the chunk that lie above `start` (global rows < start). */
function rowsAbove(chunk: MatrixChunk, start: number): number {
  return Math.max(0, Math.min(chunk.rows, start - chunk.firstRow));
}

function blockInverse(scratch: FactorScratch, block: Block): GPUBufferBinding {
  const slot = block.index % scratch.blocksPerBuffer;
  return {
    buffer: scratch.blockInverses[Math.floor(block.index / scratch.blocksPerBuffer)],
    offset: slot * BLOCK_BYTES,
    size: BLOCK_BYTES,
  };
}

/** The chunks of A with rows above the block, and how many. */
function chunksAbove(A: ChunkedMatrix, block: Block): Array<{ chunk: MatrixChunk; above: number }> {
  return A.chunks
    .map((chunk) => ({ chunk, above: rowsAbove(chunk, block.start) }))
    .filter((entry) => entry.above > 0);
}

function panelHolding(scratch: FactorScratch, row: number): PanelPart {
  const part = scratch.panels.find((p) => row >= p.firstRow && row < p.firstRow + p.rows);
  if (!part) throw new RangeError(`no Cholesky panel holds row ${row}`);
  return part;
}

/** Panel rows from `row` up to the block, one range per panel buffer they lie in. */
function panelRangesFrom(scratch: FactorScratch, row: number, block: Block) {
  return scratch.panels
    .map((part) => {
      const first = Math.max(row, part.firstRow);
      return { part, first, count: Math.min(block.start, part.firstRow + part.rows) - first };
    })
    .filter((range) => range.count > 0);
}

function encodePanel(
  ctx: GpuContext,
  run: GpuRun,
  pass: GPUComputePassEncoder,
  A: ChunkedMatrix,
  scratch: FactorScratch,
  block: Block,
  factorMode: boolean,
): void {
  const panel = computePipeline(ctx, selectVariant(panelShader, { VEC4_ROWS: A.cols % 4 === 0 }));
  for (const { chunk, above } of chunksAbove(A, block)) {
    const part = panelHolding(scratch, chunk.firstRow);
    const slot = run.params.slot([
      A.cols,
      above,
      block.start,
      block.size,
      factorMode ? 1 : 0,
      chunk.firstRow - part.firstRow,
    ]);
    const group = bindResources(ctx, panel, [chunk.buffer, blockInverse(scratch, block), part.buffer, slot]);
    dispatchIn(pass, panel, group, 1, Math.ceil(above / 16));
  }
}

/**
 * Factors A (damped H, upper triangle, zeros below) in place into R, except that each diagonal block is left as
 * R_kk⁻¹. Non-positive pivots set status[2]; the host retries with more dampening.
 */
export function encodeReverseCholesky(
  ctx: GpuContext,
  run: GpuRun,
  pass: GPUComputePassEncoder,
  A: ChunkedMatrix,
  status: GPUBuffer,
  scratch: FactorScratch,
): void {
  const n = A.cols;
  const diagonal = computePipeline(ctx, diagonalShader);
  const trailing = computePipeline(ctx, trailingShader);
  for (const block of blocksOf(n).reverse()) {
    const home = chunkHolding(A, block.start);
    const diagonalParams = run.params.slot([n, home.firstRow, block.start, block.size, block.index]);
    dispatchIn(
      pass,
      diagonal,
      bindResources(ctx, diagonal, [home.buffer, blockInverse(scratch, block), status, diagonalParams]),
      1,
    );
    if (block.start === 0) continue;
    encodePanel(ctx, run, pass, A, scratch, block, true);
    for (const { chunk, above } of chunksAbove(A, block)) {
      const rowPanel = panelHolding(scratch, chunk.firstRow);
      // Columns j ≥ the chunk's first row: tiles wholly below the diagonal are never dispatched.
      for (const range of panelRangesFrom(scratch, chunk.firstRow, block)) {
        const slot = run.params.slot([
          n,
          chunk.firstRow,
          above,
          chunk.firstRow - rowPanel.firstRow,
          range.first,
          range.count,
          range.first - range.part.firstRow,
        ]);
        const group = bindResources(ctx, trailing, [chunk.buffer, rowPanel.buffer, range.part.buffer, slot]);
        dispatchIn(pass, trailing, group, Math.ceil(range.count / 32), Math.ceil(above / 32));
      }
    }
  }
}

/** Turns the output of encodeReverseCholesky into U = R⁻¹ in place, block column by block column from the left. */
export function encodeUpperTriangularInverse(
  ctx: GpuContext,
  run: GpuRun,
  pass: GPUComputePassEncoder,
  A: ChunkedMatrix,
  scratch: FactorScratch,
): void {
  const n = A.cols;
  const inverse = computePipeline(ctx, selectVariant(inverseShader, { VEC4_ROWS: A.cols % 4 === 0 }));
  for (const block of blocksOf(n)) {
    if (block.start === 0) continue;
    encodePanel(ctx, run, pass, A, scratch, block, false);
    for (const { chunk, above } of chunksAbove(A, block)) {
      panelRangesFrom(scratch, chunk.firstRow, block).forEach((range, i) => {
        const slot = run.params.slot([
          n,
          chunk.firstRow,
          above,
          range.first,
          range.count,
          range.first - range.part.firstRow,
          block.start,
          block.size,
          i === 0 ? 0 : 1,
        ]);
        const group = bindResources(ctx, inverse, [chunk.buffer, range.part.buffer, slot]);
        dispatchIn(pass, inverse, group, 2, Math.ceil(above / 32));
      });
    }
  }
}

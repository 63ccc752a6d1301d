/**
 * Hosts for the blocked factorization that turns the damped Hessian into U, the upper Cholesky factor of H⁻¹
 * that SparseGPT walks: H = R·Rᵀ with R upper (a Cholesky run from the last column to the first; R = J·L·J for
 * the lower factor L of the reversed J·H·J), then U = R⁻¹ in place. One factorization and one triangular inverse,
 * both in 64-wide blocks whose FLOPs sit in register-tiled GEMM kernels. Shaders (shaders/solver/):
 * cholesky_diagonal_block.wgsl, cholesky_panel.wgsl, cholesky_trailing_update.wgsl, triangular_inverse_panel.wgsl.
 */

import diagonalShader from '../../../shaders/solver/cholesky_diagonal_block.wgsl?raw';
import panelShader from '../../../shaders/solver/cholesky_panel.wgsl?raw';
import trailingShader from '../../../shaders/solver/cholesky_trailing_update.wgsl?raw';
import inverseShader from '../../../shaders/solver/triangular_inverse_panel.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { bindingLimit, requireBindable } from '../gpu/limits';
import { computePipeline } from '../gpu/pipelines';
import type { CommandRecorder } from '../gpu/recorder';
import { type MatrixPart, type SplitMatrix, TILE_ROWS } from '../gpu/split-matrix';
import { selectVariant } from '../gpu/wgsl-variants';

const BLOCK = TILE_ROWS;
const BLOCK_BYTES = BLOCK * BLOCK * 4;

export interface FactorScratch {
  /** U_kk = R_kk⁻¹ of every diagonal block, 64×64 each, in buffers of `blocksPerBuffer` slots. */
  blockInverses: GPUBuffer[];
  blocksPerBuffer: number;
  /**
   * The dense [n, 64] panel, R12 during the factorization and R12·U22 during the inverse: one buffer where it fits
   * one binding, else one per part of A. Which of the two never changes a result bit by itself; sums that run
   * over panel rows are split at the buffers' edges only in the second case.
   */
  panels: MatrixPart[];
}

export function createFactorScratch(
  ctx: GpuContext,
  recorder: CommandRecorder,
  A: SplitMatrix,
): FactorScratch {
  requireBindable(
    ctx,
    BLOCK_BYTES,
    `one ${BLOCK}×${BLOCK} Cholesky block`,
    'this GPU is too small for the solver',
  );
  const limit = bindingLimit(ctx);
  const blocks = Math.ceil(A.cols / BLOCK);
  const blocksPerBuffer = Math.min(blocks, Math.floor(limit / BLOCK_BYTES));
  const blockInverses: GPUBuffer[] = [];
  for (let first = 0; first < blocks; first += blocksPerBuffer) {
    blockInverses.push(
      recorder.buffer(Math.min(blocksPerBuffer, blocks - first) * BLOCK_BYTES, 'blockInverses'),
    );
  }
  // A per-part panel holds 64 floats per row of its part of A, which holds at least as many (A is wider than one
  // block whenever a panel is used), so it fits wherever that part does.
  const parts = A.cols * BLOCK * 4 <= limit ? [{ firstRow: 0, rows: A.cols }] : A.parts;
  const panels = parts.map(({ firstRow, rows }) => ({
    buffer: recorder.buffer(rows * BLOCK * 4, 'panel'),
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

/** Rows of the part that lie above `start` (matrix rows < start). */
function rowsAbove(part: MatrixPart, start: number): number {
  return Math.max(0, Math.min(part.rows, start - part.firstRow));
}

function blockInverse(scratch: FactorScratch, block: Block): GPUBufferBinding {
  const slot = block.index % scratch.blocksPerBuffer;
  return {
    buffer: scratch.blockInverses[Math.floor(block.index / scratch.blocksPerBuffer)],
    offset: slot * BLOCK_BYTES,
    size: BLOCK_BYTES,
  };
}

/** The parts of A with rows above the block, and how many. */
function partsAbove(A: SplitMatrix, block: Block): Array<{ part: MatrixPart; above: number }> {
  return A.parts
    .map((part) => ({ part, above: rowsAbove(part, block.start) }))
    .filter((entry) => entry.above > 0);
}

function panelHolding(scratch: FactorScratch, row: number): MatrixPart {
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
  recorder: CommandRecorder,
  A: SplitMatrix,
  scratch: FactorScratch,
  block: Block,
  factorMode: boolean,
): void {
  const panel = computePipeline(ctx, selectVariant(panelShader, { VEC4_ROWS: A.cols % 4 === 0 }));
  for (const { part, above } of partsAbove(A, block)) {
    const panelPart = panelHolding(scratch, part.firstRow);
    const params = recorder.params([
      A.cols,
      above,
      block.start,
      block.size,
      factorMode ? 1 : 0,
      part.firstRow - panelPart.firstRow,
    ]);
    recorder.dispatch(
      panel,
      [part.buffer, blockInverse(scratch, block), panelPart.buffer, params],
      1,
      Math.ceil(above / 16),
    );
  }
}

/**
 * Factors A (damped H, upper triangle, zeros below) in place into R, except that each diagonal block is left as
 * R_kk⁻¹. Non-positive pivots set status[2]; the host retries with more dampening.
 */
export function encodeReverseCholesky(
  ctx: GpuContext,
  recorder: CommandRecorder,
  A: SplitMatrix,
  status: GPUBuffer,
  scratch: FactorScratch,
): void {
  const n = A.cols;
  const diagonal = computePipeline(ctx, diagonalShader);
  const trailing = computePipeline(ctx, trailingShader);
  for (const block of blocksOf(n).reverse()) {
    const home = A.partHolding(block.start);
    const diagonalParams = recorder.params([n, home.firstRow, block.start, block.size, block.index]);
    recorder.dispatch(diagonal, [home.buffer, blockInverse(scratch, block), status, diagonalParams], 1);
    if (block.start === 0) continue;
    encodePanel(ctx, recorder, A, scratch, block, true);
    for (const { part, above } of partsAbove(A, block)) {
      const rowPanel = panelHolding(scratch, part.firstRow);
      // Columns j ≥ the part's first row: tiles wholly below the diagonal are never dispatched.
      for (const range of panelRangesFrom(scratch, part.firstRow, block)) {
        const params = recorder.params([
          n,
          part.firstRow,
          above,
          part.firstRow - rowPanel.firstRow,
          range.first,
          range.count,
          range.first - range.part.firstRow,
        ]);
        recorder.dispatch(
          trailing,
          [part.buffer, rowPanel.buffer, range.part.buffer, params],
          Math.ceil(range.count / 32),
          Math.ceil(above / 32),
        );
      }
    }
  }
}

/** Turns the output of encodeReverseCholesky into U = R⁻¹ in place, block column by block column from the left. */
export function encodeUpperTriangularInverse(
  ctx: GpuContext,
  recorder: CommandRecorder,
  A: SplitMatrix,
  scratch: FactorScratch,
): void {
  const n = A.cols;
  const inverse = computePipeline(ctx, selectVariant(inverseShader, { VEC4_ROWS: A.cols % 4 === 0 }));
  for (const block of blocksOf(n)) {
    if (block.start === 0) continue;
    encodePanel(ctx, recorder, A, scratch, block, false);
    for (const { part, above } of partsAbove(A, block)) {
      panelRangesFrom(scratch, part.firstRow, block).forEach((range, i) => {
        const params = recorder.params([
          n,
          part.firstRow,
          above,
          range.first,
          range.count,
          range.first - range.part.firstRow,
          block.start,
          block.size,
          i === 0 ? 0 : 1,
        ]);
        recorder.dispatch(inverse, [part.buffer, range.part.buffer, params], 2, Math.ceil(above / 32));
      });
    }
  }
}

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
import { type ChunkedMatrix, type MatrixChunk, ROW_ALIGN } from './chunked-matrix';
import { bindResources, dispatchIn, type GpuRun } from './gpu-run';

const BLOCK = ROW_ALIGN;
const BLOCK_BYTES = BLOCK * BLOCK * 4;

export interface FactorScratch {
  /** U_kk = R_kk⁻¹ of every diagonal block, 64×64 each. */
  blockInverses: GPUBuffer;
  /** Dense [n, 64] panel: R12 during the factorization, R12·U22 during the inverse. */
  panel: GPUBuffer;
}

export function createFactorScratch(ctx: GpuContext, run: GpuRun, n: number): FactorScratch {
  const panelBytes = n * BLOCK * 4;
  const inverseBytes = Math.ceil(n / BLOCK) * BLOCK_BYTES;
  // The panel is bound whole, the block inverses one 64×64 block at a time; at WebGPU's smallest binding limit
  // (128 MiB) that fits layers of 500k inputs.
  const checks = [
    [`${n}×${BLOCK} panel`, panelBytes, bindingLimit(ctx), 'storage binding'],
    [
      `${Math.ceil(n / BLOCK)} diagonal block inverses`,
      inverseBytes,
      ctx.limits.maxBufferSize,
      'buffer size',
    ],
  ] as const;
  for (const [what, bytes, limit, kind] of checks) {
    if (bytes > limit) {
      throw new RangeError(
        `a layer with ${n} inputs is too wide for this GPU: its Cholesky ${what} (${bytes} bytes) would ` +
          `exceed the ${kind} limit of ${limit} bytes`,
      );
    }
  }
  return {
    blockInverses: run.buffer(inverseBytes, 'blockInverses'),
    panel: run.buffer(panelBytes, 'panel'),
  };
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

function chunkHolding(A: ChunkedMatrix, row: number): MatrixChunk {
  return A.chunks[Math.floor(row / A.rowsPerChunk)];
}

/** Rows of the chunk that lie above `start` (global rows < start). */
function rowsAbove(chunk: MatrixChunk, start: number): number {
  return Math.max(0, Math.min(chunk.rows, start - chunk.firstRow));
}

function blockInverse(scratch: FactorScratch, block: Block): GPUBufferBinding {
  return { buffer: scratch.blockInverses, offset: block.index * BLOCK_BYTES, size: BLOCK_BYTES };
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
  const panel = computePipeline(ctx, panelShader);
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
    for (const chunk of A.chunks) {
      const above = rowsAbove(chunk, block.start);
      if (above === 0) continue;
      const slot = run.params.slot([n, chunk.firstRow, above, block.start, block.size, 0, 1]);
      const group = bindResources(ctx, panel, [
        chunk.buffer,
        blockInverse(scratch, block),
        scratch.panel,
        slot,
      ]);
      dispatchIn(pass, panel, group, 1, Math.ceil(above / BLOCK));
    }
    for (const chunk of A.chunks) {
      const above = rowsAbove(chunk, block.start);
      if (above === 0) continue;
      const slot = run.params.slot([n, chunk.firstRow, above, block.start, block.size]);
      const group = bindResources(ctx, trailing, [chunk.buffer, scratch.panel, slot]);
      dispatchIn(pass, trailing, group, block.start / BLOCK, Math.ceil(above / BLOCK));
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
  const panel = computePipeline(ctx, panelShader);
  const inverse = computePipeline(ctx, inverseShader);
  for (const block of blocksOf(n)) {
    if (block.start === 0) continue;
    for (const chunk of A.chunks) {
      const above = rowsAbove(chunk, block.start);
      if (above === 0) continue;
      const slot = run.params.slot([n, chunk.firstRow, above, block.start, block.size, 0, 0]);
      const group = bindResources(ctx, panel, [
        chunk.buffer,
        blockInverse(scratch, block),
        scratch.panel,
        slot,
      ]);
      dispatchIn(pass, panel, group, 1, Math.ceil(above / BLOCK));
    }
    for (const chunk of A.chunks) {
      const above = rowsAbove(chunk, block.start);
      if (above === 0) continue;
      const slot = run.params.slot([n, chunk.firstRow, above, block.start, block.size]);
      const group = bindResources(ctx, inverse, [chunk.buffer, scratch.panel, slot]);
      dispatchIn(pass, inverse, group, 1, Math.ceil(above / BLOCK));
    }
  }
}

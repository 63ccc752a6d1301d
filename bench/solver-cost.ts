/**
 * Work and minimal memory traffic of each solver step, from the layer shape: what the benchmark divides measured
 * times by. FLOPs count useful arithmetic (a multiply-add is 2); bytes count each operand once per pass the
 * algorithm cannot avoid (a lower bound on traffic), so GB/s is the least the step must have moved.
 */
export interface StepCost {
  flops: number;
  bytes: number;
}

export interface LayerShape {
  rows: number;
  cols: number;
  tokens: number;
  blockSize: number;
}

function blocks(shape: LayerShape): Array<{ count: number; after: number }> {
  const out: Array<{ count: number; after: number }> = [];
  for (let start = 0; start < shape.cols; start += shape.blockSize) {
    const count = Math.min(shape.blockSize, shape.cols - start);
    out.push({ count, after: shape.cols - start - count });
  }
  return out;
}

export function stepCosts(shape: LayerShape): Record<string, StepCost> {
  const { rows, cols: n, tokens } = shape;
  const walk = blocks(shape).reduce((sum, b) => sum + rows * b.count * b.count, 0);
  const lazy = blocks(shape).reduce((sum, b) => sum + 2 * rows * b.count * b.after, 0);
  const lazyBytes = blocks(shape).reduce((sum, b) => sum + 4 * (2 * rows * b.after + b.count * b.after), 0);
  return {
    // Upper triangle of the 2·t·n² product; X read once, H read and written.
    hessian: { flops: tokens * n * (n + 1), bytes: 4 * tokens * n + 4 * n * n },
    dampCopy: { flops: 0, bytes: 6 * n * n },
    // Right-looking blocked factorization: every 64-column step reads and writes the trailing triangle.
    cholesky: { flops: n ** 3 / 3, bytes: n ** 3 / 24 },
    // Each block column reads the upper triangle to its left.
    inverse: { flops: n ** 3 / 3, bytes: n ** 3 / 96 },
    // Four radix passes over each block's weights.
    select: { flops: 0, bytes: 16 * rows * n },
    walk: { flops: walk, bytes: 12 * rows * n },
    lazyUpdate: { flops: lazy, bytes: lazyBytes },
    // Two traces x·H'·xᵀ over the upper triangle of H.
    error: { flops: 2 * rows * n * n, bytes: 4 * (2 * rows * n + (n * n) / 2) },
  };
}

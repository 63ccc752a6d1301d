/** Host for shaders/matmul.wgsl: a general f32 product used as the device's measured matmul peak. */
import shader from '../../../shaders/matmul.wgsl?raw';
import { readFloat32, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { bindResources, computePipeline, dispatchIn, withErrorScope } from '../gpu/pipelines';
import { ParamArena } from '../gpu/recorder';

export interface MatmulOnGpu {
  /** C buffer, row stride padN floats. */
  C: GPUBuffer;
  padN: number;
  encode(encoder: GPUCommandEncoder): void;
  destroy(): void;
}

/** Pads a row-major [rows, cols] matrix to [rows, padCols] with zeros (vec4 rows need multiples of 4). */
export function padColumns(data: Float32Array, rows: number, cols: number, padCols: number): Float32Array {
  if (padCols === cols) return data;
  const out = new Float32Array(rows * padCols);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * cols, (r + 1) * cols), r * padCols);
  return out;
}

/** Uploads A and B and prepares the dispatch, so benchmarks can time repeated encodes without uploads. */
export function prepareMatmul(
  ctx: GpuContext,
  A: Float32Array,
  B: Float32Array,
  M: number,
  K: number,
  N: number,
): MatmulOnGpu {
  if (A.length !== M * K || B.length !== K * N) {
    throw new RangeError(
      `matmul: A has ${A.length} values (want ${M * K}), B has ${B.length} (want ${K * N})`,
    );
  }
  const padK = Math.ceil(K / 4) * 4;
  const padN = Math.ceil(N / 4) * 4;
  const a = uploadFloat32(ctx, padColumns(A, M, K, padK), 'matmul.A');
  const bPadded = new Float32Array(padK * padN);
  bPadded.set(padColumns(B, K, N, padN));
  const b = uploadFloat32(ctx, bPadded, 'matmul.B');
  const c = uploadFloat32(ctx, new Float32Array(M * padN), 'matmul.C');
  // One uniform slot, written once and bound by every encode.
  const params = new ParamArena(ctx, 'matmul');
  const dims = params.slot([M, padK / 4, padN / 4, 0]);
  params.flush();
  const pipeline = computePipeline(ctx, shader);
  const group = bindResources(ctx, pipeline, [a, b, c, dims]);
  return {
    C: c,
    padN,
    encode: (encoder) => {
      const pass = encoder.beginComputePass({ label: 'matmul' });
      dispatchIn(pass, pipeline, group, Math.ceil(padN / 4 / 8), Math.ceil(M / 32));
      pass.end();
    },
    destroy: () => {
      for (const buffer of [a, b, c]) buffer.destroy();
      params.destroy();
    },
  };
}

export async function matmul(
  ctx: GpuContext,
  A: Float32Array,
  B: Float32Array,
  M: number,
  K: number,
  N: number,
): Promise<Float32Array> {
  return withErrorScope(ctx, 'matmul', async () => {
    const job = prepareMatmul(ctx, A, B, M, K, N);
    const encoder = ctx.device.createCommandEncoder();
    job.encode(encoder);
    ctx.device.queue.submit([encoder.finish()]);
    const padded = await readFloat32(ctx, job.C, M * job.padN);
    job.destroy();
    const C = new Float32Array(M * N);
    for (let r = 0; r < M; r++) C.set(padded.subarray(r * job.padN, r * job.padN + N), r * N);
    return C;
  });
}

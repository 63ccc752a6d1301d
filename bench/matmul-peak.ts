/**
 * The adapter's matmul peak as the benchmarks measure it in the same process as what they relate to it: the best
 * f32 GFLOP/s of the project's matmul (shaders/matmul.wgsl) and of the forward's linear in the variant this adapter
 * runs (linear-variants.ts), on a square problem (512³ on a software adapter, 4096³ on a GPU), best of three.
 */
import { encodeLinear } from '../src/core/forward/kernels/linear';
import { uploadFloat32 } from '../src/core/gpu/buffers';
import type { GpuContext } from '../src/core/gpu/context';
import { CommandRecorder } from '../src/core/gpu/recorder';
import { SplitMatrix } from '../src/core/gpu/split-matrix';
import { prepareMatmul } from '../src/core/kernels/matmul';

/** Cheap deterministic values in ±scale. */
export function noise(count: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = ((state >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

/** Best milliseconds of `work` (run once first, then three times `repeat` in a row). */
export async function bestMs(ctx: GpuContext, repeat: number, work: () => void): Promise<number> {
  const run = async () => {
    for (let i = 0; i < repeat; i++) work();
    await ctx.device.queue.onSubmittedWorkDone();
  };
  await run();
  let best = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt++) {
    const start = performance.now();
    await run();
    best = Math.min(best, (performance.now() - start) / repeat);
  }
  return best;
}

export interface MatmulPeak {
  gflops: number;
  matmulGflops: number;
  linearGflops: number;
  size: number;
}

export async function matmulPeak(ctx: GpuContext): Promise<MatmulPeak> {
  const software = ctx.adapter.isSoftware;
  const size = software ? 512 : 4096;
  const repeat = software ? 2 : 10;
  const flops = 2 * size ** 3;
  const A = noise(size * size, 7, 1);
  const job = prepareMatmul(ctx, A, A, size, size, size);
  const matmulMs = await bestMs(ctx, repeat, () => {
    const encoder = ctx.device.createCommandEncoder();
    job.encode(encoder);
    ctx.device.queue.submit([encoder.finish()]);
  });
  job.destroy();
  const X = uploadFloat32(ctx, A, 'peak.X');
  const W = SplitMatrix.upload(ctx, A, size, size, 'peak.W');
  const Y = uploadFloat32(ctx, new Float32Array(size * size), 'peak.Y');
  const linearMs = await bestMs(ctx, repeat, () => {
    const recorder = new CommandRecorder(ctx, 'peak.linear');
    encodeLinear(ctx, recorder, { X, tokens: size, W, Y });
    recorder.submit();
    recorder.destroy();
  });
  X.destroy();
  W.destroy();
  Y.destroy();
  const matmulGflops = flops / matmulMs / 1e6;
  const linearGflops = flops / linearMs / 1e6;
  return { gflops: Math.max(matmulGflops, linearGflops), matmulGflops, linearGflops, size };
}

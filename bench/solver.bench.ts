/**
 * `npm run bench [-- --sizes 768x768,3072x768 --tokens 2048 --block-size 128 --cpu-max-cols 1024]`
 *
 * Times each step of the SparseGPT layer solve on this machine's WebGPU adapter and relates it to what the same
 * adapter can do in the same run: its best measured f32 matmul GFLOP/s (the existing matmul kernel and the
 * solver's lazy-update GEMM at a large square size) and its copy bandwidth. Prints, per layer shape, GFLOP/s and
 * the fraction of that peak per step and for the whole solve, which resource bounds each step, and how the GPU
 * solve compares with the float64 and float32 CPU implementation of the same solve (the reference).
 * Shapes are rows×cols (out_features × in_features): OPT-125M 768×768, 3072×768 (fc1), 768×3072 (fc2); Llama-7B
 * 4096×4096 (attention), 11008×4096 (gate/up), 4096×11008 (down). A software adapter defaults to the three OPT-125M
 * shapes (about two minutes on two idle CPU cores).
 */
import { availableParallelism, loadavg } from 'node:os';
import { create, globals } from 'webgpu';
import { uploadFloat32 } from '../src/core/gpu/buffers';
import { createGpuContext, type GpuContext } from '../src/core/gpu/context';
import { BufferUsage } from '../src/core/gpu/flags';
import { CommandRecorder } from '../src/core/gpu/recorder';
import { SplitMatrix, TILED } from '../src/core/gpu/split-matrix';
import { prepareMatmul } from '../src/core/kernels/matmul';
import { HessianAccumulator } from '../src/core/sparsegpt/hessian';
import { sparsegptReference } from '../src/core/sparsegpt/layer-solver.reference';
import { encodeLazyBatchUpdate } from '../src/core/sparsegpt/lazy-update';
import { prepareLayer } from '../src/core/sparsegpt/prepare';
import { pruneLayer } from '../src/core/sparsegpt/prune';
import { kernelsFromEnvironment } from '../src/node/gpu';
import { gaussian, mulberry32 } from '../test/random';
import { type LayerShape, stepCosts } from './solver-cost';

interface Options {
  sizes?: Array<[number, number]>;
  tokens?: number;
  blockSize: number;
  cpuMaxCols: number;
}

const USAGE =
  'usage: npm run bench -- [--sizes ROWSxCOLS,…] [--tokens N] [--block-size 128] [--cpu-max-cols 1024]\n' +
  '  --sizes         layer shapes, e.g. 768x768,3072x768,768x3072,4096x4096,11008x4096 (default: all of these\n' +
  '                  and 4096x11008 on a hardware GPU, the first three on a software adapter)\n' +
  '  --tokens        calibration tokens for the Hessian (default 2048, 256 on a software adapter)\n' +
  '  --cpu-max-cols  widest layer also solved on the CPU for the speedup ratio (default 1024)';

function wholeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${flag} takes a whole number ≥ 1 (got "${text}")`);
  return value;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { blockSize: 128, cpuMaxCols: 1024 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    const [flag, inline] = argv[i].split('=', 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--sizes') {
      options.sizes = value.split(',').map((size) => {
        const match = /^(\d+)x(\d+)$/.exec(size.trim());
        if (!match) throw new Error(`--sizes takes ROWSxCOLS,… (got "${size}")`);
        return [Number(match[1]), Number(match[2])];
      });
    } else if (flag === '--tokens') options.tokens = wholeNumber(flag, value);
    else if (flag === '--block-size') options.blockSize = wholeNumber(flag, value);
    else if (flag === '--cpu-max-cols') options.cpuMaxCols = wholeNumber(flag, value);
    else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return options;
}

async function timeGpu(ctx: GpuContext, repeat: number, encode: (encoder: GPUCommandEncoder) => void) {
  const run = () => {
    const encoder = ctx.device.createCommandEncoder();
    for (let i = 0; i < repeat; i++) encode(encoder);
    ctx.device.queue.submit([encoder.finish()]);
    return ctx.device.queue.onSubmittedWorkDone();
  };
  await run();
  // Best of three: on a shared machine (a software adapter runs on its CPUs) the fastest run is the adapter's own.
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    await run();
    best = Math.min(best, performance.now() - start);
  }
  return best / repeat;
}

async function measurePeaks(ctx: GpuContext, software: boolean) {
  const size = software ? 512 : 4096;
  const A = gaussian(size * size, 1);
  const job = prepareMatmul(ctx, A, A, size, size, size);
  const matmulMs = await timeGpu(ctx, software ? 2 : 10, (encoder) => job.encode(encoder));
  job.destroy();
  const matmulGflops = (2 * size ** 3) / matmulMs / 1e6;
  const lazyGflops = await measureLazyUpdate(ctx, size, software ? 2 : 10);
  const bytes = software ? 32 << 20 : 512 << 20;
  const usage = BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
  const source = ctx.device.createBuffer({ size: bytes, usage });
  const target = ctx.device.createBuffer({ size: bytes, usage });
  const copyMs = await timeGpu(ctx, 4, (encoder) => encoder.copyBufferToBuffer(source, 0, target, 0, bytes));
  source.destroy();
  target.destroy();
  return {
    matmulGflops,
    lazyGflops,
    peakGflops: Math.max(matmulGflops, lazyGflops),
    bandwidth: (2 * bytes) / copyMs / 1e6,
    size,
  };
}

/** The solver's own GEMM at its real shape: W[size, size] −= Err[size, 128] · U[128, size], GPU-timed. */
async function measureLazyUpdate(ctx: GpuContext, size: number, repeat: number): Promise<number> {
  const k = 128;
  const columns = size + k;
  const W = SplitMatrix.upload(ctx, gaussian(size * columns, 2), size, columns, 'W', TILED);
  const err = uploadFloat32(ctx, gaussian(size * k, 3), 'err');
  const uPanel = uploadFloat32(ctx, gaussian(k * columns, 4), 'uPanel');
  const block = { columns, blockStart: 0, blockCount: k, errStride: k, uPanel, panelStride: columns };
  let bestMs = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt++) {
    const recorder = new CommandRecorder(ctx, 'peak');
    for (let i = 0; i <= repeat; i++) {
      await recorder.step(i === 0 ? 'warm' : 'lazy', () => {
        for (const part of W.parts) encodeLazyBatchUpdate(ctx, recorder, part, err, block);
      });
    }
    bestMs = Math.min(bestMs, (await recorder.finish()).lazy);
    recorder.destroy();
  }
  W.destroy();
  err.destroy();
  uPanel.destroy();
  return (2 * size * k * size * repeat) / bestMs / 1e6;
}

/** Inputs with a few dominant directions and columns of very different scale, like LLM activations. */
function syntheticInputs(tokens: number, cols: number, seed: number): Float32Array {
  const rank = 16;
  const Z = gaussian(tokens * rank, seed);
  const A = gaussian(rank * cols, seed + 1);
  const noise = gaussian(tokens * cols, seed + 2);
  const next = mulberry32(seed + 3);
  const scales = Float32Array.from({ length: cols }, () => 10 ** (2 * next() - 1));
  const X = new Float32Array(tokens * cols);
  for (let t = 0; t < tokens; t++) {
    for (let j = 0; j < cols; j++) {
      let v = 0.3 * noise[t * cols + j];
      for (let r = 0; r < rank; r++) v += Z[t * rank + r] * A[r * cols + j];
      X[t * cols + j] = v * scales[j];
    }
  }
  return X;
}

function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value.toFixed(digits);
}

function row(cells: Array<string | number>, widths: number[]): string {
  return cells.map((cell, i) => String(cell)[i === 0 ? 'padEnd' : 'padStart'](widths[i])).join(' ');
}

interface Peaks {
  peakGflops: number;
  bandwidth: number;
}

function bound(gflops: number, gbs: number, peaks: Peaks, passes: number): string {
  const compute = gflops / peaks.peakGflops;
  const memory = gbs / peaks.bandwidth;
  if (Math.max(compute, memory) < 0.15) return `latency (${passes} dependent dispatches, little work each)`;
  return compute >= memory ? 'compute' : 'memory bandwidth';
}

async function benchShape(ctx: GpuContext, peaks: Peaks, shape: LayerShape, cpuMaxCols: number) {
  const { rows, cols, tokens, blockSize } = shape;
  console.log(`\n${rows}×${cols} layer (rows × cols), ${tokens} calibration tokens, block ${blockSize}`);
  const X = syntheticInputs(tokens, cols, cols);
  const W = gaussian(rows * cols, rows);
  const xBuffer = uploadFloat32(ctx, X, 'X');
  const accumulator = new HessianAccumulator(ctx, cols);
  await ctx.device.queue.onSubmittedWorkDone();
  const hessianStart = performance.now();
  accumulator.add(xBuffer, tokens);
  await ctx.device.queue.onSubmittedWorkDone();
  const hessianMs = performance.now() - hessianStart;
  xBuffer.destroy();

  const prepared = await prepareLayer(ctx, accumulator, cols);
  const pruned = await pruneLayer(ctx, W, rows, cols, prepared, { sparsity: 0.5, blockSize });
  const nm = await pruneLayer(ctx, W, rows, cols, prepared, {
    pattern: { n: 2, m: 4 },
    blockSize,
    measureError: false,
  });
  const costs = stepCosts(shape);
  const times: Record<string, number> = {
    hessian: hessianMs,
    dampCopy: prepared.timings.dampCopy,
    cholesky: prepared.timings.cholesky,
    inverse: prepared.timings.inverse,
    select: pruned.timings.select,
    walk: pruned.timings.walk,
    lazyUpdate: pruned.timings.lazyUpdate,
    error: pruned.timings.error,
  };
  const blocks = Math.ceil(cols / blockSize);
  // Dependent dispatches in a row: the factorization and the inverse step through 64-column diagonal blocks.
  const diagonalBlocks = Math.ceil(cols / 64);
  const passes: Record<string, number> = {
    hessian: 1,
    dampCopy: 1,
    cholesky: 3 * diagonalBlocks - 2,
    inverse: 2 * (diagonalBlocks - 1),
    select: blocks,
    walk: blocks,
    lazyUpdate: blocks - 1,
    error: 1,
  };
  const widths = [22, 10, 9, 9, 7, 9, 6, 0];
  console.log(row(['step', 'ms', 'GFLOP', 'GFLOP/s', '%peak', 'GB/s', '%bw', '  bound'], widths));
  for (const [step, ms] of Object.entries(times)) {
    const { flops, bytes } = costs[step];
    const gflops = flops / ms / 1e6;
    const gbs = bytes / ms / 1e6;
    console.log(
      row(
        [
          step,
          fmt(ms, 2),
          fmt(flops / 1e9, 2),
          flops ? fmt(gflops) : '–',
          flops ? fmt((100 * gflops) / peaks.peakGflops) : '–',
          fmt(gbs),
          fmt((100 * gbs) / peaks.bandwidth),
          `  ${bound(gflops, gbs, peaks, passes[step])}`,
        ],
        widths,
      ),
    );
  }
  const solveSteps = ['dampCopy', 'cholesky', 'inverse', 'select', 'walk', 'lazyUpdate'];
  const solveMs = solveSteps.reduce((sum, step) => sum + times[step], 0);
  const solveFlops = solveSteps.reduce((sum, step) => sum + costs[step].flops, 0);
  const solveGflops = solveFlops / solveMs / 1e6;
  const wallMs = prepared.timings.total + pruned.timings.total - pruned.timings.error;
  console.log(
    `whole solve (prepare + prune, GPU time): ${fmt(solveMs, 2)} ms, ${fmt(solveGflops)} GFLOP/s = ` +
      `${fmt((100 * solveGflops) / peaks.peakGflops)}% of matmul peak; wall clock ${fmt(wallMs, 1)} ms ` +
      `(+ error metric ${fmt(times.error, 2)} ms)`,
  );
  console.log(
    `2:4 prune on the same prepared layer (no H, damping, Cholesky or inverse again): walk ` +
      `${fmt(nm.timings.walk, 2)} ms + lazyUpdate ${fmt(nm.timings.lazyUpdate, 2)} ms GPU, ` +
      `${fmt(nm.timings.total, 1)} ms wall; 50% relative error ${pruned.relativeError.toExponential(3)}, ` +
      `prepare retries ${prepared.retries}`,
  );
  if (cols <= cpuMaxCols) {
    const upper = await accumulator.H.read();
    const H = new Float64Array(cols * cols);
    for (let i = 0; i < cols; i++) {
      for (let j = i; j < cols; j++) H[i * cols + j] = H[j * cols + i] = upper[i * cols + j];
    }
    for (const precision of ['f64', 'f32'] as const) {
      const start = performance.now();
      sparsegptReference(W, rows, cols, H, { sparsity: 0.5, blockSize, precision });
      const cpuMs = performance.now() - start;
      console.log(
        `CPU ${precision} solve (reference, one thread): ${fmt(cpuMs, 0)} ms → GPU speedup ` +
          `${fmt(cpuMs / solveMs, 2)}× by GPU time, ${fmt(cpuMs / wallMs, 2)}× by wall clock`,
      );
    }
  } else {
    console.log(`CPU solve skipped (cols > --cpu-max-cols ${cpuMaxCols})`);
  }
  prepared.destroy();
  accumulator.destroy();
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  Object.assign(globalThis, globals);
  // Dawn rounds timestamps to 64 µs by default (a browser fingerprinting guard); per-pass sums need them exact.
  const gpu = create(['disable-dawn-features=timestamp_quantization']) as GPU;
  const ctx = await createGpuContext(gpu, { kernels: kernelsFromEnvironment() });
  const software = ctx.adapter.isSoftware;
  console.log(
    `adapter: ${ctx.adapter.name}; timestamps: ${ctx.features.timestampQuery ? 'GPU' : 'wall clock'}; kernels: ` +
      `${ctx.kernels} (SPARSEGPT_KERNELS=cpu|gpu picks them)`,
  );
  if (software) {
    const load = loadavg()[0];
    console.log(
      `host: ${availableParallelism()} CPUs, load ${load.toFixed(1)} at start: the software adapter shares them, so ` +
        'figures vary with other work (%peak > 100 means the peak was measured while the CPUs were busier)',
    );
  }
  const sizes =
    options.sizes ??
    (software
      ? [
          [768, 768],
          [3072, 768],
          [768, 3072],
        ]
      : [
          [768, 768],
          [3072, 768],
          [768, 3072],
          [4096, 4096],
          [11008, 4096],
          [4096, 11008],
        ]);
  const tokens = options.tokens ?? (software ? 256 : 2048);
  // Compile every pipeline on a small layer first, so that no step below pays for shader compilation.
  await benchWarmUp(ctx, options.blockSize);
  const peaks = await measurePeaks(ctx, software);
  console.log(
    `matmul peak: ${fmt(peaks.matmulGflops)} GFLOP/s (matmul.wgsl, ${peaks.size}³), lazy-update GEMM ` +
      `${fmt(peaks.lazyGflops)} GFLOP/s (${peaks.size}×128×${peaks.size}) → peak ${fmt(peaks.peakGflops)} GFLOP/s; ` +
      `copy bandwidth ${fmt(peaks.bandwidth)} GB/s`,
  );
  for (const [rows, cols] of sizes) {
    await benchShape(ctx, peaks, { rows, cols, tokens, blockSize: options.blockSize }, options.cpuMaxCols);
  }
  ctx.destroy();
}

async function benchWarmUp(ctx: GpuContext, blockSize: number) {
  const cols = 128;
  const accumulator = new HessianAccumulator(ctx, cols);
  accumulator.addFromArray(syntheticInputs(256, cols, 1), 256);
  const prepared = await prepareLayer(ctx, accumulator, cols);
  const W = gaussian(64 * cols, 1);
  await pruneLayer(ctx, W, 64, cols, prepared, { sparsity: 0.5, blockSize });
  await pruneLayer(ctx, W, 64, cols, prepared, { pattern: { n: 2, m: 4 }, blockSize });
  prepared.destroy();
  accumulator.destroy();
}

await main();

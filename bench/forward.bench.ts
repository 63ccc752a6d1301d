/**
 * `node bin/run-ts.mjs bench/forward.bench.ts [--model 7b|125m|tiny] [--seq-len 2048] [--sequences 4]`
 *
 * Times the forward pass the pruning pipeline runs (src/core/forward) on this machine's WebGPU adapter: each
 * fused linear of a block, causal attention, a whole block through BlockRunner, and the LM head NLL in vocabulary slices.
 * Prints GFLOP/s and the fraction of this adapter's matmul peak measured in the same run (the project's tiled
 * matmul kernel at a large square size), so the numbers read the same on any GPU. Weights are random (the
 * timings do not depend on values). A software adapter defaults to the tiny model.
 */

import { type Architecture, describeArchitecture, storedShape } from '../src/core/forward/architecture';
import { BlockRunner } from '../src/core/forward/block-runner';
import { uploadBlock } from '../src/core/forward/block-weights';
import { maxSequencesPerChunk } from '../src/core/forward/chunk-fit';
import { nll, uploadHead } from '../src/core/forward/head';
import { encodeAttention } from '../src/core/forward/kernels/attention';
import { encodeLinear } from '../src/core/forward/kernels/linear';
import { uploadFloat32 } from '../src/core/gpu/buffers';
import type { GpuContext } from '../src/core/gpu/context';
import { CommandRecorder } from '../src/core/gpu/recorder';
import { SplitMatrix } from '../src/core/gpu/split-matrix';
import { prepareMatmul } from '../src/core/kernels/matmul';
import type { ModelConfig } from '../src/core/model/types';
import { createNodeGpuContext } from '../src/node/gpu';

const MODELS: Record<string, Partial<ModelConfig>> = {
  tiny: { hiddenSize: 256, intermediateSize: 688, numHeads: 8, numKvHeads: 4, headDim: 32, vocabSize: 4096 },
  '125m': {
    hiddenSize: 768,
    intermediateSize: 2048,
    numHeads: 12,
    numKvHeads: 12,
    headDim: 64,
    vocabSize: 32000,
  },
  '7b': {
    hiddenSize: 4096,
    intermediateSize: 11008,
    numHeads: 32,
    numKvHeads: 32,
    headDim: 128,
    vocabSize: 32000,
  },
};

function llamaConfig(sizes: Partial<ModelConfig>): ModelConfig {
  return {
    modelType: 'llama',
    family: 'llama',
    hiddenSize: 0,
    intermediateSize: 0,
    numLayers: 1,
    numHeads: 0,
    numKvHeads: 0,
    headDim: 0,
    vocabSize: 0,
    maxPositions: 4096,
    norm: { kind: 'rmsnorm', eps: 1e-5 },
    activation: 'silu',
    positional: { kind: 'rope', theta: 10000, partialRotaryFactor: 1 },
    biases: { qkv: false, o: false, mlp: false },
    tiedEmbeddings: false,
    doLayerNormBefore: true,
    ...sizes,
  };
}

function parseOptions(argv: string[]) {
  const options: { model?: string; seqLen?: number; sequences?: number } = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') continue;
    const [flag, inline] = argv[i].split('=', 2);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--model') {
      if (!(value in MODELS)) throw new Error(`--model takes ${Object.keys(MODELS).join(', ')}`);
      options.model = value;
    } else if (flag === '--seq-len') options.seqLen = Number(value);
    else if (flag === '--sequences') options.sequences = Number(value);
    else throw new Error(`unknown option ${flag}; options: --model --seq-len --sequences`);
  }
  return options;
}

/** Cheap deterministic values in ±scale (a Gaussian generator is too slow for 7B-sized blocks). */
function noise(count: number, seed: number, scale: number): Float32Array {
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

/** Sizes of every tensor the forward reads, so a random source can answer by name. */
function tensorSizes(arch: Architecture): Map<string, number> {
  const sizes = new Map<string, number>([[arch.lmHead.tensor, arch.lmHead.rows * arch.lmHead.cols]]);
  if (arch.finalNorm) sizes.set(arch.finalNorm.weight, arch.hiddenSize);
  const block = arch.block(0);
  for (const norm of [block.attentionNorm, block.mlpNorm]) sizes.set(norm.weight, arch.hiddenSize);
  for (const linear of block.linears) {
    const [r, c] = storedShape(linear);
    sizes.set(linear.tensor, r * c);
  }
  return sizes;
}

async function timeMs(ctx: GpuContext, repeat: number, work: () => void | Promise<void>): Promise<number> {
  await work();
  await ctx.device.queue.onSubmittedWorkDone();
  const start = performance.now();
  for (let i = 0; i < repeat; i++) await work();
  await ctx.device.queue.onSubmittedWorkDone();
  return (performance.now() - start) / repeat;
}

function line(label: string, ms: number, flops: number, peak: number): void {
  const gflops = flops / ms / 1e6;
  console.log(
    `${label.padEnd(40)} ${ms.toFixed(2).padStart(9)} ms ${gflops.toFixed(1).padStart(9)} GFLOP/s ` +
      `${((100 * gflops) / peak).toFixed(0).padStart(4)} % of peak`,
  );
}

async function matmulPeak(ctx: GpuContext, software: boolean): Promise<number> {
  const size = software ? 512 : 4096;
  const A = noise(size * size, 7, 1);
  const job = prepareMatmul(ctx, A, A, size, size, size);
  const ms = await timeMs(ctx, software ? 2 : 10, () => {
    const encoder = ctx.device.createCommandEncoder();
    job.encode(encoder);
    ctx.device.queue.submit([encoder.finish()]);
  });
  job.destroy();
  return (2 * size ** 3) / ms / 1e6;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const ctx = await createNodeGpuContext();
  const software = ctx.adapter.isSoftware;
  const model = options.model ?? (software ? 'tiny' : '7b');
  const arch = describeArchitecture(llamaConfig(MODELS[model]));
  const seqLen = options.seqLen ?? (software ? 128 : 2048);
  const fit = maxSequencesPerChunk(ctx, arch, seqLen);
  if (fit < 1)
    throw new Error(`one sequence of ${seqLen} tokens exceeds the storage binding limit: lower --seq-len`);
  const sequences = Math.min(options.sequences ?? (software ? 2 : 4), fit);
  const tokens = sequences * seqLen;
  const repeat = software ? 2 : 5;
  console.log(`adapter: ${ctx.adapter.name}`);
  console.log(
    `model ${model}: hidden ${arch.hiddenSize}, MLP ${arch.intermediateSize}, ${arch.heads} heads ` +
      `(${arch.kvHeads} K/V) of ${arch.headDim}, vocab ${arch.vocabSize}; ${sequences} × ${seqLen} tokens`,
  );
  const peak = await matmulPeak(ctx, software);
  console.log(`matmul peak (tiled kernel, square): ${peak.toFixed(1)} GFLOP/s\n`);

  const sizes = tensorSizes(arch);
  let seed = 1;
  const source = async (name: string) => {
    const size = sizes.get(name);
    if (size === undefined) throw new Error(`the benchmark has no tensor ${name}`);
    return noise(size, seed++, name.endsWith('norm.weight') ? 1 : 0.05);
  };

  // Each fused linear of the block alone: the hot spot of every forward.
  const H = arch.hiddenSize;
  const q = arch.heads * arch.headDim;
  const kv = arch.kvHeads * arch.headDim;
  const X = uploadFloat32(ctx, noise(tokens * Math.max(H, arch.intermediateSize, q + 2 * kv), 3, 1), 'X');
  const widest = Math.max(...arch.block(0).groups.map((g) => g.rows));
  const Y = ctx.device.createBuffer({ size: tokens * widest * 4, usage: X.usage, label: 'Y' });
  let linearMs = 0;
  let linearFlops = 0;
  for (const group of arch.block(0).groups) {
    const W = SplitMatrix.upload(
      ctx,
      noise(group.rows * group.features, seed++, 0.05),
      group.rows,
      group.features,
      group.role,
    );
    const ms = await timeMs(ctx, repeat, () => {
      const recorder = new CommandRecorder(ctx, 'linear');
      encodeLinear(ctx, recorder, { X, tokens, W, Y });
      recorder.submit();
      recorder.destroy();
    });
    const flops = 2 * tokens * group.rows * group.features;
    line(`linear ${group.role} ${group.rows}×${group.features}`, ms, flops, peak);
    linearMs += ms;
    linearFlops += flops;
    W.destroy();
  }

  const attentionFlops = 4 * sequences * arch.heads * arch.headDim * ((seqLen * (seqLen + 1)) / 2);
  const attentionMs = await timeMs(ctx, repeat, () => {
    const recorder = new CommandRecorder(ctx, 'attention');
    encodeAttention(ctx, recorder, {
      qkv: X,
      sequences,
      seqLen,
      heads: arch.heads,
      kvHeads: arch.kvHeads,
      headDim: arch.headDim,
      rowStride: q + 2 * kv,
      keyColumn: q,
      valueColumn: q + kv,
      scale: arch.attentionScale,
      out: Y,
      outStride: q,
    });
    recorder.submit();
    recorder.destroy();
  });
  line('causal attention', attentionMs, attentionFlops, peak);
  X.destroy();
  Y.destroy();

  const weights = await uploadBlock(ctx, arch, 0, source);
  const runner = new BlockRunner(ctx, arch, { sequences, seqLen });
  const hidden = uploadFloat32(ctx, noise(tokens * H, 5, 1), 'hidden');
  const out = ctx.device.createBuffer({ size: hidden.size, usage: hidden.usage, label: 'out' });
  const blockMs = await timeMs(ctx, repeat, () => runner.run(weights, hidden, out, { sequences, seqLen }));
  const blockFlops = linearFlops + attentionFlops;
  line('whole block (BlockRunner.run)', blockMs, blockFlops, peak);
  console.log(
    `  linears ${((100 * linearMs) / blockMs).toFixed(0)} %, attention ${((100 * attentionMs) / blockMs).toFixed(0)} % ` +
      `of the block; ${((tokens / blockMs) * 1000).toFixed(0)} tokens/s per block`,
  );
  weights.destroy();
  runner.destroy();

  const head = await uploadHead(ctx, arch, source);
  const targets = Int32Array.from({ length: tokens }, (_, t) => t % arch.vocabSize);
  const headMs = await timeMs(ctx, repeat, async () => {
    await nll(ctx, arch, head, out, targets);
  });
  line('LM head NLL (norm, logits, log-sum-exp)', headMs, 2 * tokens * H * arch.vocabSize, peak);
  head.destroy();
  hidden.destroy();
  out.destroy();
  ctx.destroy();
}

await main();

/** This tool's own GPU forward for comparisons with llama.cpp: greedy continuation by repeated full forwards. */
import type { Architecture } from '../../src/core/forward/architecture';
import { BlockRunner } from '../../src/core/forward/block-runner';
import { type TensorSource, uploadBlock } from '../../src/core/forward/block-weights';
import { embed, uploadEmbedding } from '../../src/core/forward/embedding';
import { logitsAt, uploadHead } from '../../src/core/forward/head';
import { modelNll } from '../../src/core/forward/model-forward';
import { openGgufModel } from '../../src/core/gguf/open-gguf';
import { createStorageBuffer } from '../../src/core/gpu/buffers';
import type { GpuContext } from '../../src/core/gpu/context';
import { fileByteSource } from '../../src/node/files';

export async function lastLogits(
  ctx: GpuContext,
  arch: Architecture,
  source: TensorSource,
  ids: number[],
): Promise<Float32Array> {
  const shape = { sequences: 1, seqLen: ids.length };
  const embedding = await uploadEmbedding(ctx, arch, source);
  let hidden = await embed(ctx, arch, embedding, ids, shape);
  let spare = createStorageBuffer(ctx, hidden.size, 'spare');
  const runner = new BlockRunner(ctx, arch, shape);
  try {
    for (let i = 0; i < arch.numBlocks; i++) {
      const weights = await uploadBlock(ctx, arch, i, source);
      await runner.run(weights, hidden, spare, shape);
      weights.destroy();
      [hidden, spare] = [spare, hidden];
    }
    const head = await uploadHead(ctx, arch, source);
    try {
      return await logitsAt(ctx, arch, head, hidden, [ids.length - 1]);
    } finally {
      head.destroy();
    }
  } finally {
    for (const b of [hidden, spare]) b.destroy();
    embedding.destroy();
    runner.destroy();
  }
}

export async function ourGreedy(
  ctx: GpuContext,
  arch: Architecture,
  source: TensorSource,
  prompt: number[],
  count: number,
): Promise<number[]> {
  const ids = [...prompt];
  for (let n = 0; n < count; n++) {
    const logits = await lastLogits(ctx, arch, source, ids);
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
    ids.push(best);
  }
  return ids.slice(prompt.length);
}

/** Our forward's NLL of each next token of `windows` on a GGUF's dequantized weights. */
export async function ggufNll(ctx: GpuContext, path: string, windows: Int32Array, seqLen: number) {
  const gguf = await openGgufModel(await fileByteSource(path));
  return modelNll(ctx, gguf.arch, gguf.read, windows, { seqLen });
}

/** The mean of the values that are not NaN (the NLL arrays mark positions without a target so). */
export function meanNll(values: ArrayLike<number>): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) continue;
    sum += values[i];
    count++;
  }
  return sum / count;
}

/**
 * The real checkpoint: stories260K (llama2.c's tiny Llama, HF layout, F32, tied embeddings, GQA 8/4). NLL, PPL
 * and the prompt's last-position top-5 logits must match golden_llama2c.json (computed in float64 by an
 * independent llama2.c re-implementation) on the GPU and in the float64 reference.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useGpu } from '../../../test/gpu';
import { openFolder } from '../../node/files';
import { createStorageBuffer } from '../gpu/buffers';
import { openCheckpoint } from '../io/checkpoint';
import { loadModelConfig } from '../model/config';
import { describeArchitecture } from './architecture';
import { BlockRunner } from './block-runner';
import { uploadBlock } from './block-weights';
import { embed, uploadEmbedding } from './embedding';
import { ReferenceModel } from './forward.reference';
import { logitsAt, uploadHead } from './head';
import { modelNll } from './model-forward';

const folderUrl = new URL('../../../../shared/models/stories260K/', import.meta.url);
const golden = JSON.parse(readFileSync(new URL('golden_llama2c.json', folderUrl), 'utf8')) as {
  prompt_ids: number[];
  story_sentence_ids: number[];
  story_sentence_mean_nll: number;
  story_sentence_ppl: number;
  prompt_last_logits_top5: Array<[number, number]>;
};
// Through the app's own reader and config parser, as the pipeline opens a model folder.
const folder = await openFolder(fileURLToPath(folderUrl));
const config = await loadModelConfig(folder);
const checkpoint = await openCheckpoint(folder);
const names = checkpoint.tensors.map((t) => t.name);
// 260K parameters: read once, so the float64 reference (synchronous) can use them too.
const tensors = new Map<string, Float32Array>();
for (const name of names) tensors.set(name, await checkpoint.readFloat32(name));
const tensor = (name: string) => {
  const data = tensors.get(name);
  if (!data) throw new Error(`stories260K has no tensor ${name}`);
  return data;
};
const source = async (name: string) => tensor(name);

function meanOfFinite(values: Float64Array): number {
  const finite = [...values].filter((x) => !Number.isNaN(x));
  return finite.reduce((a, b) => a + b, 0) / finite.length;
}

function topFive(logits: ArrayLike<number>): Array<[number, number]> {
  return Array.from(logits, (value, id): [number, number] => [id, value])
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
}

/** Equal to 4 significant digits, and within a relative 1e-4 (rounding alone could hide a near-boundary miss). */
function expectFourDigits(actual: number, expected: number) {
  expect(actual.toPrecision(4)).toBe(expected.toPrecision(4));
  expect(Math.abs(actual - expected) / expected).toBeLessThan(1e-4);
}

describe('stories260K against the llama2.c golden values', () => {
  const gpu = useGpu();
  const arch = describeArchitecture(config, names);
  const ids = Int32Array.from(golden.story_sentence_ids);

  it('the architecture matches every tensor of the checkpoint, and nothing is left over', () => {
    const used = new Set<string>([arch.embedding.tensor, arch.finalNorm!.weight, arch.lmHead.tensor]);
    for (let i = 0; i < arch.numBlocks; i++) {
      const block = arch.block(i);
      used.add(block.attentionNorm.weight).add(block.mlpNorm.weight);
      for (const linear of block.linears) {
        used.add(linear.tensor);
        expect(checkpoint.tensor(linear.tensor).shape).toEqual([linear.rows, linear.cols]);
      }
    }
    expect([...used].sort()).toEqual([...names].sort());
  });

  it('float64 reference: sentence NLL and perplexity to 4 significant digits, prompt top-5 logits', () => {
    const reference = new ReferenceModel(config, tensor, names);
    const nll = reference.forwardNll(ids, { sequences: 1, seqLen: ids.length });
    const mean = meanOfFinite(nll);
    expectFourDigits(mean, golden.story_sentence_mean_nll);
    // Both are float64 forwards of the same weights: they agree far beyond 4 digits (1e-16 seen).
    expect(Math.abs(mean - golden.story_sentence_mean_nll)).toBeLessThan(1e-12);
    expectFourDigits(Math.exp(mean), golden.story_sentence_ppl);

    const prompt = golden.prompt_ids;
    let hidden = reference.embed(prompt, { sequences: 1, seqLen: prompt.length });
    for (let i = 0; i < config.numLayers; i++)
      hidden = reference.block(i, hidden, { sequences: 1, seqLen: prompt.length });
    const logits = reference.logits(hidden.subarray((prompt.length - 1) * config.hiddenSize));
    const top = topFive(logits);
    expect(top.map(([id]) => id)).toEqual(golden.prompt_last_logits_top5.map(([id]) => id));
    for (const [i, [, value]] of top.entries())
      expect(value).toBeCloseTo(golden.prompt_last_logits_top5[i][1], 9);
  });

  it('GPU: sentence NLL and perplexity to 4 significant digits', async () => {
    const ctx = await gpu();
    const nll = await modelNll(ctx, arch, source, ids, { seqLen: ids.length });
    const mean = meanOfFinite(nll);
    expectFourDigits(mean, golden.story_sentence_mean_nll);
    // f32 compute: 3e-7 relative seen on SwiftShader.
    expect(Math.abs(mean - golden.story_sentence_mean_nll) / golden.story_sentence_mean_nll).toBeLessThan(
      1e-5,
    );
    expectFourDigits(Math.exp(mean), golden.story_sentence_ppl);
  });

  it('GPU: the prompt’s last-position top-5 logits', async () => {
    const ctx = await gpu();
    const prompt = golden.prompt_ids;
    const shape = { sequences: 1, seqLen: prompt.length };
    const embedding = await uploadEmbedding(ctx, arch, source);
    let hidden = await embed(ctx, arch, embedding, prompt, shape);
    let spare = createStorageBuffer(ctx, hidden.size, 'spare');
    const runner = new BlockRunner(ctx, arch, shape);
    for (let i = 0; i < arch.numBlocks; i++) {
      const weights = await uploadBlock(ctx, arch, i, source);
      await runner.run(weights, hidden, spare, shape);
      weights.destroy();
      [hidden, spare] = [spare, hidden];
    }
    const head = await uploadHead(ctx, arch, source);
    const logits = await logitsAt(ctx, arch, head, hidden, [prompt.length - 1]);
    const top = topFive(logits);
    expect(top.map(([id]) => id)).toEqual(golden.prompt_last_logits_top5.map(([id]) => id));
    for (const [i, [, value]] of top.entries()) {
      expect(Math.abs(value - golden.prompt_last_logits_top5[i][1])).toBeLessThan(2e-4);
    }
    for (const b of [hidden, spare]) b.destroy();
    for (const w of [embedding, head]) w.destroy();
    runner.destroy();
  });
});

/**
 * Generation on the demo model (stories260K, a real tiny Llama), dense and pruned by a real run of the pipeline:
 * the greedy continuation of 64 tokens equals the float64 reference's (a full re-forward per token, no cache) token
 * for token; the KV-cache logits at every step equal a full GPU re-forward's within 2e-5 and the float64
 * reference's within 5e-5; sampling with a seed is reproducible and another seed changes the text; streamed blocks,
 * a prompt fed in pieces and two models side by side change nothing.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useGpu } from '../../../test/gpu';
import { lastLogits } from '../../../test/llama-cpp/ours';
import { openFolder } from '../../node/files';
import type { GpuContext } from '../gpu/context';
import { type ByteSource, memoryByteSink, memoryByteSource } from '../io/bytes';
import { createModelFolder } from '../io/folder';
import { type ForwardModel, forwardModelOf, openForwardFolder } from '../pipeline/forward-model';
import { type OpenedModel, openModel } from '../pipeline/open-model';
import { pruneModel } from '../pipeline/prune-model';
import { DEFAULT_SETTINGS } from '../pipeline/types';
import { CachedDecoder } from './decoder';
import { type GenerationRequest, generate } from './generate';
import { referenceGreedy, referenceNextLogits, referenceOf } from './generate.reference';
import { placeWeights } from './model-weights';
import { GREEDY } from './sampling';

const demo = new URL('../../../public/demo/stories260K/', import.meta.url);
const PROMPT = 'Once upon a time, there was a little girl named Lily. She';
const GREEDY_64: GenerationRequest = { prompt: PROMPT, maxTokens: 64, sampling: GREEDY, stopAtEos: false };

/** The demo pruned 50% with SparseGPT by the pipeline, its output written in memory and opened as a model folder. */
async function prunedDemo(ctx: GpuContext, dense: OpenedModel): Promise<ForwardModel> {
  const sinks = new Map<string, ReturnType<typeof memoryByteSink>>();
  const settings = { ...DEFAULT_SETTINGS, nsamples: 16, seqlen: 64, sparsity: 0.5 };
  const calibration = readFileSync(new URL('calibration.txt', demo), 'utf8');
  const sinkFor = async (path: string) => {
    const sink = memoryByteSink();
    sinks.set(path, sink);
    return sink;
  };
  await pruneModel(ctx, dense, settings, { calibration }, { output: { sinkFor } });
  const files = [...sinks].map(([path, sink]): [string, ByteSource] => [
    path,
    memoryByteSource(sink.bytes(), path),
  ]);
  return openForwardFolder(createModelFolder('stories260K-pruned', files));
}

describe('generation on the demo model', () => {
  const gpu = useGpu();
  // One binding holds the logits of one position (512 floats) and one key/value head's q|k|v of 16 tokens.
  const narrow = useGpu({ testLimits: { maxStorageBufferBindingSize: 512 * 4 } });
  let dense: ForwardModel;
  let pruned: ForwardModel;

  beforeAll(async () => {
    const opened = (await openModel(await openFolder(new URL('.', demo).pathname))).model;
    dense = forwardModelOf(opened);
    pruned = await prunedDemo(await gpu(), opened);
  }, 120_000);

  let sideBySide: { dense: number[]; pruned: number[] };

  it('dense and pruned side by side: each greedy continuation of 64 tokens equals the float64 reference', async () => {
    const [denseStats, prunedStats] = await generate(await gpu(), [dense, pruned], GREEDY_64);
    for (const [model, stats] of [
      [dense, denseStats],
      [pruned, prunedStats],
    ] as const) {
      const prompt = model.tokenizer.encode(PROMPT);
      const expected = referenceGreedy(await referenceOf(model), prompt, 64);
      expect(stats.ids).toEqual(expected);
      const decode = (ids: number[]) => model.tokenizer.decode(ids);
      expect(decode(prompt) + stats.text).toBe(decode([...prompt, ...expected]));
      expect(stats.stop).toBe('max-tokens');
    }
    // The pruned model is another model: it writes another text.
    expect(prunedStats.ids).not.toEqual(denseStats.ids);
    sideBySide = { dense: denseStats.ids, pruned: prunedStats.ids };
  });

  it('KV-cache logits at every step match a full re-forward (GPU: 2e-5, float64: 5e-5)', async () => {
    const ctx = await gpu();
    const ids = dense.tokenizer.encode(PROMPT);
    const continuation = [25, 301, 78, 4, 410, 90, 12, 250, 311, 7];
    const reference = await referenceOf(dense);
    const weights = await placeWeights(ctx, dense.arch, dense.source, { label: 'demo' });
    const decoder = new CachedDecoder(ctx, dense.arch, weights, ids.length + continuation.length, ids.length);
    let worstGpu = 0;
    let worstReference = 0;
    try {
      let logits = await decoder.feed(ids);
      for (const next of [...continuation, undefined]) {
        const full = await lastLogits(ctx, dense.arch, dense.source, ids);
        const exact = referenceNextLogits(reference, ids);
        for (let v = 0; v < logits.length; v++) {
          worstGpu = Math.max(worstGpu, Math.abs(logits[v] - full[v]));
          worstReference = Math.max(worstReference, Math.abs(logits[v] - exact[v]));
        }
        if (next === undefined) break;
        ids.push(next);
        logits = await decoder.feed([next]);
      }
    } finally {
      decoder.destroy();
      weights.destroy();
    }
    expect(worstGpu).toBeLessThan(2e-5);
    expect(worstReference).toBeLessThan(5e-5);
  });

  it('sampling with a seed is reproducible; another seed gives another text', async () => {
    const ctx = await gpu();
    const sampled = (seed: number) => ({
      prompt: PROMPT,
      maxTokens: 16,
      sampling: { kind: 'sample' as const, temperature: 1, topP: 0.95, seed },
      stopAtEos: false,
    });
    const [first] = await generate(ctx, [dense], sampled(7));
    const [again] = await generate(ctx, [dense], sampled(7));
    const [other] = await generate(ctx, [dense], sampled(8));
    expect(again.text).toBe(first.text);
    expect(again.ids).toEqual(first.ids);
    expect(other.text).not.toBe(first.text);
    // Sampling is not greedy decoding.
    expect(first.ids).not.toEqual(sideBySide.dense.slice(0, 16));
  });

  it('alone, with blocks streamed at every step, and with a prompt fed in pieces: the same tokens', async () => {
    const request = { ...GREEDY_64, maxTokens: 12 };
    const [resident] = await generate(await gpu(), [pruned], request);
    expect(resident.ids).toEqual(sideBySide.pruned.slice(0, 12));
    const notes: string[] = [];
    const [streamed] = await generate(await gpu(), [pruned], request, {
      streamWeights: true,
      onNote: (note) => notes.push(note),
    });
    expect(streamed.ids).toEqual(resident.ids);
    expect(notes).toEqual([expect.stringMatching(/do not fit on this GPU.*one at a time: this is slow/)]);
    // Under narrow bindings a long prompt goes in pieces, the later ones attending over the cache.
    const long = {
      ...request,
      maxTokens: 6,
      prompt: `${PROMPT} liked to play with her friends in the big park.`,
    };
    const promptLength = dense.tokenizer.encode(long.prompt).length;
    const ctx = await narrow();
    const weights = await placeWeights(ctx, dense.arch, dense.source, { label: 'demo' });
    const decoder = new CachedDecoder(ctx, dense.arch, weights, promptLength + 16, promptLength);
    expect(decoder.piece).toBeLessThan(promptLength);
    decoder.destroy();
    weights.destroy();
    const [pieces] = await generate(ctx, [dense], long);
    const [whole] = await generate(await gpu(), [dense], long);
    expect(pieces.ids).toEqual(whole.ids);
  });

  it('stops at the end-of-sequence token, and says when the prompt and max tokens exceed the context', async () => {
    const ctx = await gpu();
    const tokens: string[] = [];
    // The demo rarely ends a story within a test's tokens: here its end-of-sequence token is the full stop.
    const period = dense.tokenizer.encode('.', { addBos: false }).at(-1) as number;
    const tokenizer = Object.create(dense.tokenizer, { eosId: { value: period } });
    const [stats] = await generate(
      ctx,
      [{ ...dense, tokenizer }],
      { prompt: PROMPT, maxTokens: 64, sampling: GREEDY },
      { onToken: (token) => tokens.push(token.text) },
    );
    expect(stats.stop).toBe('eos');
    expect(stats.ids.at(-1)).toBe(period);
    expect(stats.ids.slice(0, -1)).not.toContain(period);
    expect(stats.text).toMatch(/^ [^.]+\.$/);
    expect(tokens.join('')).toBe(stats.text);
    expect(stats.tokensPerSecond).toBeGreaterThan(0);
    await expect(generate(ctx, [dense], { ...GREEDY_64, maxTokens: 500 })).rejects.toThrow(
      /make 517 positions, more than the 512 stories260K was trained on: .* lower max tokens to 495/,
    );
  });
});

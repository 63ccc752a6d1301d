/**
 * Per-token losses on the demo model, dense and with half of every linear's weights zeroed by magnitude: each
 * token's loss equals the float64 reference forward's −log softmax at its target within 1e-4 nats; the pieces join
 * to the window's text; the first token is context only.
 */
import { describe, expect, it } from 'vitest';
import { useGpu } from '../../../test/gpu';
import { openFolder } from '../../node/files';
import { type ForwardModel, forwardModelOf } from '../pipeline/forward-model';
import { openModel } from '../pipeline/open-model';
import { tokenLosses } from './token-losses';
import { referenceLosses } from './token-losses.reference';

const demo = new URL('../../../public/demo/stories260K/', import.meta.url).pathname;
const TEXT = 'Tom had a red ball. He threw the ball to his dog, and the dog ran after it in the sun.';

/** The model with the smaller half of every prunable weight matrix set to zero (by |w|, per matrix). */
function halfZeroed(model: ForwardModel): ForwardModel {
  const prunable = new Set(model.arch.prunableLinears().map((l) => l.tensor));
  return {
    ...model,
    async source(name) {
      const weights = await model.source(name);
      if (!prunable.has(name)) return weights;
      const threshold = Float32Array.from(weights, Math.abs).sort()[Math.floor(weights.length / 2)];
      return weights.map((w) => (Math.abs(w) < threshold ? 0 : w));
    },
  };
}

describe('per-token losses, dense and pruned', () => {
  const gpu = useGpu();

  it('match the float64 reference token by token; pieces join to the text', async () => {
    const dense = forwardModelOf((await openModel(await openFolder(demo))).model);
    const pruned = halfZeroed(dense);
    const losses = await tokenLosses(await gpu(), dense, pruned, TEXT, 512);
    const ids = Array.from(dense.tokenizer.encode(TEXT));
    expect(losses.pieces.length).toBe(ids.length);
    expect(losses.pieces.join('')).toBe(dense.tokenizer.decode(ids));
    expect(losses.droppedTokens).toBe(0);
    for (const [model, got] of [
      [dense, losses.dense],
      [pruned, losses.pruned],
    ] as const) {
      const expected = await referenceLosses(model, ids);
      expect(got[0]).toBeNull();
      for (let t = 1; t < ids.length; t++)
        expect(Math.abs((got[t] as number) - (expected[t] as number))).toBeLessThan(1e-4);
    }
    // Zeroing half the weights makes the text harder on the whole.
    const mean = (values: Array<number | null>) =>
      values.slice(1).reduce((sum: number, v) => sum + (v as number), 0) / (values.length - 1);
    expect(mean(losses.pruned)).toBeGreaterThan(mean(losses.dense));
    // A shorter window shows fewer tokens and says how many were left out.
    const short = await tokenLosses(await gpu(), dense, pruned, TEXT, 8);
    expect(short.pieces.length).toBe(8);
    expect(short.droppedTokens).toBe(ids.length - 8);
    expect(short.dense.slice(1)).toEqual(losses.dense.slice(1, 8).map((v) => expect.closeTo(v as number, 5)));
  });
});

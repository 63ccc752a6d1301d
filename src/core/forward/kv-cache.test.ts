/**
 * The KV cache and its kernels (kv_cache_store.wgsl, attention_decode.wgsl): queries of new tokens attending over the
 * keys and values stored for earlier positions give the float64 causal attention of the whole sequence, with grouped
 * key/value heads, sliding windows and soft-capping, for a cache in one buffer and for one split by positions over
 * several bindings, and for a head group writing its columns of a wider output.
 */
import { describe, expect, it } from 'vitest';
import { relativeMaxError } from '../../../test/compare';
import { useGpu } from '../../../test/gpu';
import { gaussian } from '../../../test/random';
import { createStorageBuffer, readFloat32, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import type { Architecture } from './architecture';
import { referenceAttention } from './forward.reference';
import { KeyValueCache } from './kv-cache';

/** float32 against float64 over a few hundred terms. */
const TOLERANCE = 2e-6;

interface Case {
  positions: number;
  /** The last `queries` positions are the new tokens; the rest are stored first. */
  queries: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  window?: number;
  softcap?: number;
}

async function run(ctx: GpuContext, encode: (recorder: CommandRecorder) => void) {
  await withErrorScope(ctx, 'kv cache test', () => {
    const recorder = new CommandRecorder(ctx, 'kv cache test');
    encode(recorder);
    recorder.submit();
    recorder.destroy();
  });
}

/** Columns [start, start + width) of every row of a [rows, stride] buffer, in float64. */
function columns(data: Float32Array, rows: number, stride: number, start: number, width: number) {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < width; i++) out[r * width + i] = data[r * stride + start + i];
  }
  return out;
}

/**
 * Stores the keys and values of positions [0, positions − queries) in one call and of the new tokens in another,
 * attends the new tokens' queries over the cache, and returns their output next to the float64 reference's rows.
 */
async function attendOverCache(ctx: GpuContext, c: Case) {
  const { positions, queries, heads, kvHeads, headDim } = c;
  const [q, kv] = [heads * headDim, kvHeads * headDim];
  const rowStride = q + 2 * kv;
  const data = gaussian(positions * rowStride, positions * 7 + headDim).map((x) => 2 * x);
  const arch = { numBlocks: 1, heads, kvHeads, headDim } as Architecture;
  const cache = new KeyValueCache(ctx, arch, positions + 3);
  const earlier = positions - queries;
  const first = uploadFloat32(ctx, data.subarray(0, earlier * rowStride), 'earlier q|k|v');
  const fresh = uploadFloat32(ctx, data.subarray(earlier * rowStride), 'new q|k|v');
  const out = createStorageBuffer(ctx, queries * q * 4, 'out');
  const scale = 1 / Math.sqrt(headDim);
  const block = cache.block(0);
  const projection = { rowStride, keyColumn: q, valueColumn: q + kv, heads: { firstKvHead: 0, kvHeads } };
  await run(ctx, (recorder) => {
    if (earlier > 0) block.store(recorder, { ...projection, qkv: first }, earlier, 0);
    block.store(recorder, { ...projection, qkv: fresh }, queries, earlier);
    block.attend(recorder, {
      ...projection,
      qkv: fresh,
      queryRowStart: 0,
      queries,
      position: earlier,
      scale,
      window: c.window,
      softcap: c.softcap,
      out,
      outStride: q,
      outColumn: 0,
      outRowOffset: 0,
    });
  });
  const got = await readFloat32(ctx, out, queries * q);
  const options = { window: c.window, softcap: c.softcap };
  const whole = referenceAttention(
    columns(data, positions, rowStride, 0, q),
    columns(data, positions, rowStride, q, kv),
    columns(data, positions, rowStride, q + kv, kv),
    1,
    positions,
    heads,
    kvHeads,
    headDim,
    scale,
    options,
  );
  const parts = cache.parts;
  cache.destroy();
  for (const buffer of [first, fresh, out]) buffer.destroy();
  return { got, expected: whole.subarray(earlier * q), parts };
}

describe('KV cache: stored keys and values, attention of new tokens over them', () => {
  const gpu = useGpu();
  // 3 positions of 2 key/value heads of 8 per 64-byte binding: a cache of 300 positions is 100 parts.
  const narrow = useGpu({ testLimits: { maxStorageBufferBindingSize: 64 * 4 } });

  it.each<[string, Case]>([
    ['one new token, grouped heads', { positions: 40, queries: 1, heads: 4, kvHeads: 2, headDim: 8 }],
    ['the first token alone', { positions: 1, queries: 1, heads: 2, kvHeads: 2, headDim: 5 }],
    [
      'several new tokens over many key tiles',
      { positions: 600, queries: 5, heads: 2, kvHeads: 1, headDim: 16 },
    ],
    [
      'a head dimension wider than the workgroup',
      { positions: 9, queries: 2, heads: 2, kvHeads: 1, headDim: 80 },
    ],
    ['a sliding window', { positions: 50, queries: 3, heads: 4, kvHeads: 2, headDim: 8, window: 7 }],
    ['soft-capped scores', { positions: 30, queries: 2, heads: 2, kvHeads: 2, headDim: 8, softcap: 1.5 }],
  ])('%s: matches float64 causal attention of the whole sequence', async (_, c) => {
    const { got, expected, parts } = await attendOverCache(await gpu(), c);
    expect(parts).toBe(1);
    expect(relativeMaxError(got, expected)).toBeLessThan(TOLERANCE);
  });

  it('a cache split by positions over many bindings gives the same attention, window and all', async () => {
    const c = { positions: 300, queries: 4, heads: 4, kvHeads: 2, headDim: 8, window: 100 };
    const { got, expected, parts } = await attendOverCache(await narrow(), c);
    expect(parts).toBeGreaterThan(50);
    expect(relativeMaxError(got, expected)).toBeLessThan(TOLERANCE);
  });

  it("a head group's stored keys and its queries' output land in the group's columns only", async () => {
    const ctx = await gpu();
    // Key/value heads 2 and 3 of 4 (with their 4 query heads of 8): a block split into two head groups.
    const [positions, heads, kvHeads, headDim] = [12, 8, 4, 5];
    const group = { firstKvHead: 2, kvHeads: 2 };
    const [gq, gkv] = [4 * headDim, 2 * headDim];
    const rowStride = gq + 2 * gkv;
    const data = gaussian(positions * rowStride, 5);
    const qkv = uploadFloat32(ctx, data, 'group q|k|v');
    const SENTINEL = 7;
    const outStride = heads * headDim;
    const out = uploadFloat32(ctx, new Float32Array(outStride).fill(SENTINEL), 'out');
    const cache = new KeyValueCache(
      ctx,
      { numBlocks: 1, heads, kvHeads, headDim } as Architecture,
      positions,
    );
    const block = cache.block(0);
    const projection = { qkv, rowStride, keyColumn: gq, valueColumn: gq + gkv, heads: group };
    await run(ctx, (recorder) => {
      block.store(recorder, projection, positions, 0);
      block.attend(recorder, {
        ...projection,
        queryRowStart: positions - 1,
        queries: 1,
        position: 0,
        scale: 0.5,
        out,
        outStride,
        outColumn: 2 * 2 * headDim,
        outRowOffset: positions - 1,
      });
    });
    const written = await readFloat32(ctx, out, outStride);
    const expected = referenceAttention(
      columns(data, positions, rowStride, 0, gq),
      columns(data, positions, rowStride, gq, gkv),
      columns(data, positions, rowStride, gq + gkv, gkv),
      1,
      positions,
      4,
      2,
      headDim,
      0.5,
    ).subarray((positions - 1) * gq);
    expect([...written.subarray(0, 4 * headDim)].every((x) => x === SENTINEL)).toBe(true);
    expect(relativeMaxError(written.subarray(4 * headDim), expected)).toBeLessThan(TOLERANCE);
    cache.destroy();
    qkv.destroy();
    out.destroy();
  });

  it('refuses positions past its capacity', async () => {
    const ctx = await gpu();
    const cache = new KeyValueCache(
      ctx,
      { numBlocks: 1, heads: 1, kvHeads: 1, headDim: 4 } as Architecture,
      4,
    );
    const qkv = createStorageBuffer(ctx, 12 * 4, 'q|k|v');
    const recorder = new CommandRecorder(ctx, 'past capacity');
    const projection = {
      qkv,
      rowStride: 12,
      keyColumn: 4,
      valueColumn: 8,
      heads: { firstKvHead: 0, kvHeads: 1 },
    };
    expect(() => cache.block(0).store(recorder, projection, 1, 4)).toThrow(/holds 4 positions/);
    recorder.destroy();
    cache.destroy();
    qkv.destroy();
  });
});

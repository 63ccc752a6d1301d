/**
 * The kernels the newer decoders added, each against its float64 reference (operations.ts, moe.ts): attention
 * within a sliding window and with soft-capped scores (split dispatches bit-identical to one), per-head q/k
 * RMSNorm, RMSNorm with a residual (Gemma's post-sublayer norms), soft-capping, a gather from an id offset with a
 * scale, an expert's weighted scatter-add, and the host's routing (softmax, top-k, renormalisation).
 */
import { describe, expect, it } from 'vitest';
import { relativeMaxError } from '../../../test/compare';
import { useGpu } from '../../../test/gpu';
import { gaussian } from '../../../test/random';
import { createStorageBuffer, readFloat32, uploadArray, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import { referenceAttention, referenceLinear, referenceRmsNorm, referenceSoftcap } from './forward.reference';
import { encodeAttention } from './kernels/attention';
import { encodeGather } from './kernels/embedding';
import { encodeExpertScatter } from './kernels/expert-scatter';
import { encodeHeadNorm } from './kernels/head-norm';
import { encodeNorm } from './kernels/norm';
import { encodeSoftcap } from './kernels/softcap';
import { planExpertRoutes, routeTokens } from './moe-routing';
import { referenceRoute } from './reference/moe';

function run(ctx: GpuContext, encode: (batch: CommandRecorder) => void) {
  return withErrorScope(ctx, 'kernel test', () => {
    const batch = new CommandRecorder(ctx, 'kernel test');
    encode(batch);
    batch.submit();
    batch.destroy();
  });
}

const TOLERANCE = 2e-6;

/** q, k and v of a fused [tokens, q | k | v] buffer as the float64 reference takes them. */
function splitQkv(data: Float32Array, tokens: number, q: number, kv: number) {
  const rowStride = q + 2 * kv;
  const part = (start: number, width: number) => {
    const out = new Float64Array(tokens * width);
    for (let t = 0; t < tokens; t++) {
      for (let i = 0; i < width; i++) out[t * width + i] = data[t * rowStride + start + i];
    }
    return out;
  };
  return [part(0, q), part(q, kv), part(q + kv, kv)] as const;
}

describe('attention within a sliding window and with soft-capped scores', () => {
  const gpu = useGpu();
  // Key tiles of 3: windows then start and end inside tiles, and whole tiles fall before a query's window.
  const tinyWorkgroupMemory = useGpu({ testLimits: { maxComputeWorkgroupStorageSize: 2 * 3 * 5 * 4 } });

  it.each([
    // sequences, seqLen, heads, kvHeads, headDim, window, softcap
    ['a window shorter than a key tile', 2, 37, 4, 2, 5, 3, undefined],
    ['a window of several key tiles, past a query tile', 1, 70, 2, 2, 16, 41, undefined],
    ['soft-capped scores without a window', 2, 37, 4, 2, 5, undefined, 2],
    ['both', 3, 11, 3, 1, 4, 4, 1.5],
    ['a window of one key: each query sees only itself', 1, 9, 2, 1, 4, 1, undefined],
  ] as const)(
    '%s matches float64',
    async (_, sequences, seqLen, heads, kvHeads, headDim, window, softcap) => {
      await checkWindowed(await gpu(), { sequences, seqLen, heads, kvHeads, headDim, window, softcap });
    },
  );

  it('with key tiles of 3, windows straddling tiles', async () => {
    const ctx = await tinyWorkgroupMemory();
    await checkWindowed(ctx, {
      sequences: 2,
      seqLen: 17,
      heads: 2,
      kvHeads: 1,
      headDim: 5,
      window: 4,
      softcap: 3,
    });
  });

  it('queries split across dispatches and token-range buffers give the bits of one dispatch', async () => {
    const ctx = await gpu();
    const [sequences, seqLen, heads, kvHeads, headDim, window] = [2, 45, 2, 1, 4, 7];
    const [tokens, q, kv] = [sequences * seqLen, heads * headDim, kvHeads * headDim];
    const data = gaussian(tokens * (q + 2 * kv), 5).map((x) => 2 * x);
    const qkv = uploadFloat32(ctx, data, 'qkv');
    const args = {
      qkv,
      seqLen,
      heads,
      kvHeads,
      headDim,
      rowStride: q + 2 * kv,
      keyColumn: q,
      valueColumn: q + kv,
      scale: 0.5,
      window,
      softcap: 2,
      outStride: q,
    };
    const whole = createStorageBuffer(ctx, tokens * q * 4, 'whole');
    const [first, second] = [58, 32].map((rows) => createStorageBuffer(ctx, rows * q * 4, 'range'));
    await run(ctx, (batch) => {
      encodeAttention(ctx, batch, { ...args, sequences, out: whole });
      encodeAttention(ctx, batch, { ...args, sequences: 1, out: first });
      encodeAttention(ctx, batch, { ...args, sequences: 1, firstSequence: 1, queryEnd: 13, out: first });
      encodeAttention(ctx, batch, {
        ...args,
        sequences: 1,
        firstSequence: 1,
        queryStart: 13,
        out: second,
        outRowOffset: 58,
      });
    });
    const joined = new Float32Array(tokens * q);
    joined.set(await readFloat32(ctx, first, 58 * q));
    joined.set(await readFloat32(ctx, second, 32 * q), 58 * q);
    expect(joined).toEqual(await readFloat32(ctx, whole, tokens * q));
    for (const buffer of [qkv, whole, first, second]) buffer.destroy();
  });

  it('refuses a window of zero keys', async () => {
    const ctx = await gpu();
    const qkv = createStorageBuffer(ctx, 64, 'qkv');
    const recorder = new CommandRecorder(ctx, 'test');
    expect(() =>
      encodeAttention(ctx, recorder, {
        qkv,
        sequences: 1,
        seqLen: 2,
        heads: 1,
        kvHeads: 1,
        headDim: 2,
        rowStride: 6,
        keyColumn: 2,
        valueColumn: 4,
        scale: 1,
        window: 0,
        out: qkv,
        outStride: 2,
      }),
    ).toThrow(/a sliding window must be a whole number of keys ≥ 1, got 0/);
    recorder.destroy();
    qkv.destroy();
  });

  async function checkWindowed(
    ctx: GpuContext,
    shape: {
      sequences: number;
      seqLen: number;
      heads: number;
      kvHeads: number;
      headDim: number;
      window?: number;
      softcap?: number;
    },
  ) {
    const { sequences, seqLen, heads, kvHeads, headDim, window, softcap } = shape;
    const [tokens, q, kv] = [sequences * seqLen, heads * headDim, kvHeads * headDim];
    // Large scores, so that both the online softmax's rescaling and the cap matter.
    const data = gaussian(tokens * (q + 2 * kv), seqLen + headDim).map((x) => 3 * x);
    const qkv = uploadFloat32(ctx, data, 'qkv');
    const out = createStorageBuffer(ctx, tokens * q * 4, 'out');
    const scale = 1 / Math.sqrt(headDim);
    await run(ctx, (batch) =>
      encodeAttention(ctx, batch, {
        qkv,
        sequences,
        seqLen,
        heads,
        kvHeads,
        headDim,
        rowStride: q + 2 * kv,
        keyColumn: q,
        valueColumn: q + kv,
        scale,
        window,
        softcap,
        out,
        outStride: q,
      }),
    );
    const [qs, ks, vs] = splitQkv(data, tokens, q, kv);
    const options = { ...(window ? { window } : {}), ...(softcap ? { softcap } : {}) };
    const expected = referenceAttention(
      qs,
      ks,
      vs,
      sequences,
      seqLen,
      heads,
      kvHeads,
      headDim,
      scale,
      options,
    );
    const written = await readFloat32(ctx, out, tokens * q);
    expect(relativeMaxError(written, expected)).toBeLessThan(TOLERANCE);
    // Without the window or the cap the reference is far from what the kernel wrote.
    const plain = referenceAttention(qs, ks, vs, sequences, seqLen, heads, kvHeads, headDim, scale);
    if (window !== undefined && window < seqLen)
      expect(relativeMaxError(written, plain)).toBeGreaterThan(1e-2);
    if (softcap !== undefined) {
      const uncapped = referenceAttention(qs, ks, vs, sequences, seqLen, heads, kvHeads, headDim, scale, {
        ...(window ? { window } : {}),
      });
      expect(relativeMaxError(written, uncapped)).toBeGreaterThan(1e-2);
    }
    qkv.destroy();
    out.destroy();
  }
});

describe('norms of the newer decoders', () => {
  const gpu = useGpu();

  it('per-head q/k RMSNorm normalises each query and key head by its own weight, in place; values untouched', async () => {
    const ctx = await gpu();
    const [tokens, heads, kvHeads, headDim, eps] = [7, 4, 2, 6, 1e-6];
    const [q, kv] = [heads * headDim, kvHeads * headDim];
    const rowStride = q + 2 * kv;
    const data = gaussian(tokens * rowStride, 8).map((x, i) => 2 * x + (i % 3));
    const queryWeight = gaussian(headDim, 9).map((w) => 1 + 0.3 * w);
    const keyWeight = gaussian(headDim, 10).map((w) => 1 + 0.3 * w);
    const qkv = uploadFloat32(ctx, data, 'qkv');
    const weights = [queryWeight, keyWeight].map((w) => uploadFloat32(ctx, w, 'weight'));
    await run(ctx, (batch) =>
      encodeHeadNorm(ctx, batch, {
        qkv,
        tokens,
        rowStride,
        queryHeads: heads,
        kvHeads,
        headDim,
        eps,
        queryWeight: weights[0],
        keyWeight: weights[1],
      }),
    );
    const [qs, ks, vs] = splitQkv(data, tokens, q, kv);
    const expected = [
      referenceRmsNorm(qs, tokens * heads, headDim, queryWeight, eps),
      referenceRmsNorm(ks, tokens * kvHeads, headDim, keyWeight, eps),
    ];
    const [gq, gk, gv] = splitQkv(await readFloat32(ctx, qkv, tokens * rowStride), tokens, q, kv);
    expect(relativeMaxError(gq, expected[0])).toBeLessThan(TOLERANCE);
    expect(relativeMaxError(gk, expected[1])).toBeLessThan(TOLERANCE);
    expect(gv).toEqual(vs);
    for (const buffer of [qkv, ...weights]) buffer.destroy();
  });

  it('RMSNorm with a residual: norm(X)·w + R, from and to row offsets', async () => {
    const ctx = await gpu();
    const [rows, features, xRow, yRow, rRow] = [5, 37, 2, 1, 3];
    const X = gaussian((xRow + rows) * features, 11).map((x) => 4 * x);
    const R = gaussian((rRow + rows) * features, 12);
    const weight = gaussian(features, 13).map((w) => 1 + 0.2 * w);
    const buffers = [X, R, weight].map((data) => uploadFloat32(ctx, data, 'input'));
    const Y = createStorageBuffer(ctx, (yRow + rows) * features * 4, 'Y');
    await run(ctx, (batch) =>
      encodeNorm(ctx, batch, {
        kind: 'rmsnorm',
        X: buffers[0],
        xRowStart: xRow,
        rows,
        features,
        eps: 1e-6,
        weights: { weight: buffers[2] },
        Y,
        yRowStart: yRow,
        residual: buffers[1],
        residualRowStart: rRow,
      }),
    );
    const normed = referenceRmsNorm(X.subarray(xRow * features), rows, features, weight, 1e-6);
    const expected = normed.map((value, i) => value + R[rRow * features + i]);
    const written = await readFloat32(ctx, Y, rows * features, yRow * features);
    expect(relativeMaxError(written, expected)).toBeLessThan(TOLERANCE);
    for (const buffer of [...buffers, Y]) buffer.destroy();
  });
});

describe('soft-capping, gathers and the experts’ scatter-add', () => {
  const gpu = useGpu();

  it('soft-caps the first `count` values in place: cap · tanh(x / cap)', async () => {
    const ctx = await gpu();
    const values = gaussian(300, 14).map((x) => 40 * x);
    const X = uploadFloat32(ctx, values, 'X');
    await run(ctx, (batch) => encodeSoftcap(ctx, batch, { X, count: 299, cap: 30 }));
    const written = await readFloat32(ctx, X, 300);
    const expected = referenceSoftcap(Float64Array.from(values.subarray(0, 299)), 30);
    expect(relativeMaxError(written.subarray(0, 299), expected)).toBeLessThan(TOLERANCE);
    expect(written[299]).toBe(values[299]);
    X.destroy();
  });

  it('gathers rows by ids read from an offset, scaled', async () => {
    const ctx = await gpu();
    const [rows, features] = [6, 5];
    const table = gaussian(rows * features, 15);
    const matrix = SplitMatrix.upload(ctx, table, rows, features, 'table');
    const ids = uploadArray(ctx, Uint32Array.from([9, 9, 4, 0, 5, 4]), 'ids');
    const Y = createStorageBuffer(ctx, 4 * features * 4, 'Y');
    await run(ctx, (batch) =>
      encodeGather(ctx, batch, {
        table: matrix,
        ids,
        idStart: 2,
        tokens: 4,
        Y,
        accumulate: false,
        scale: 2.5,
      }),
    );
    const written = await readFloat32(ctx, Y, 4 * features);
    [4, 0, 5, 4].forEach((id, t) => {
      for (let f = 0; f < features; f++)
        expect(written[t * features + f]).toBe(Math.fround(2.5 * table[id * features + f]));
    });
    matrix.destroy();
    for (const buffer of [ids, Y]) buffer.destroy();
  });

  it('adds each routed row times its weight to its token, leaving the other tokens as they were', async () => {
    const ctx = await gpu();
    const [tokens, features, yRow] = [5, 6, 2];
    const expertOut = gaussian(3 * features, 16);
    const before = gaussian((yRow + tokens) * features, 17);
    // Routes from word 4 on: token 3 ← row 0 · 0.25, token 0 ← row 2 · 0.5, token 4 ← row 1 · 1.
    const routes = new Uint32Array(4 + 9);
    const weights = new Float32Array(routes.buffer);
    [
      [3, 0, 0.25],
      [0, 2, 0.5],
      [4, 1, 1],
    ].forEach(([dst, src, w], k) => {
      routes[4 + 3 * k] = dst;
      routes[4 + 3 * k + 1] = src;
      weights[4 + 3 * k + 2] = w;
    });
    const buffers = { X: uploadFloat32(ctx, expertOut, 'X'), routes: uploadArray(ctx, routes, 'routes') };
    const Y = uploadFloat32(ctx, before, 'Y');
    await run(ctx, (batch) =>
      encodeExpertScatter(ctx, batch, {
        X: buffers.X,
        features,
        routes: buffers.routes,
        routeStart: 4,
        count: 3,
        Y,
        yRowStart: yRow,
      }),
    );
    const expected = Float32Array.from(before);
    for (const [dst, src, w] of [
      [3, 0, 0.25],
      [0, 2, 0.5],
      [4, 1, 1],
    ]) {
      for (let f = 0; f < features; f++) {
        const at = (yRow + dst) * features + f;
        expected[at] = Math.fround(expected[at] + Math.fround(w * expertOut[src * features + f]));
      }
    }
    expect(await readFloat32(ctx, Y, (yRow + tokens) * features)).toEqual(expected);
    for (const buffer of [buffers.X, buffers.routes, Y]) buffer.destroy();
  });
});

describe('routing on the host', () => {
  const moe = { experts: 6, topK: 2, normalizeTopK: true };

  it.each([true, false])(
    'softmax, top-k and renormalisation (%s) as the float64 reference routes',
    (normalizeTopK) => {
      const [tokens, features] = [9, 4];
      const x = Float64Array.from(gaussian(tokens * features, 18));
      const router = Float64Array.from(gaussian(moe.experts * features, 19).map((w) => 2 * w));
      const settings = { ...moe, normalizeTopK };
      // The GPU hands the host f32 logits; the reference routes from float64 ones.
      const logits = Float32Array.from(referenceLinear(x, tokens, router, moe.experts, features));
      const expected = referenceRoute(x, tokens, features, router, settings);
      const routed = routeTokens(logits, tokens, settings);
      routed.forEach((choices, t) => {
        choices.forEach(([expert, weight], k) => {
          expect(expert).toBe(expected.experts[t * moe.topK + k]);
          expect(weight).toBeCloseTo(expected.weights[t * moe.topK + k], 6);
        });
      });
    },
  );

  it('lays out each expert’s gathered rows and routes; every token gathered only when calibrating on all', () => {
    // Token 0 prefers experts 1 then 0; token 1 experts 2 then 1; token 2 experts 1 then 2.
    const logits = Float32Array.from([1, 3, 0, 0, 2, 3, 0, 4, 3]);
    const settings = { experts: 3, topK: 2, normalizeTopK: true };
    const routed = planExpertRoutes(logits, 3, settings, false);
    expect(routed.experts.map((e) => [e.expert, e.gathered, e.routes])).toEqual([
      [0, 1, 1],
      [1, 3, 3],
      [2, 2, 2],
    ]);
    const expert2 = routed.experts[2];
    expect(Array.from(routed.data.subarray(expert2.gatherStart, expert2.gatherStart + 2))).toEqual([1, 2]);
    const route = routed.data.subarray(expert2.routeStart, expert2.routeStart + 6);
    const weightOf = (bits: number) => new Float32Array(Uint32Array.of(bits).buffer)[0];
    expect([route[0], route[1], route[3], route[4]]).toEqual([1, 0, 2, 1]);
    expect(weightOf(route[2])).toBeCloseTo(Math.exp(3) / (Math.exp(3) + Math.exp(2)), 6);
    const all = planExpertRoutes(logits, 3, settings, true);
    expect(all.experts.map((e) => [e.expert, e.gathered, e.routes])).toEqual([
      [0, 3, 1],
      [1, 3, 3],
      [2, 3, 2],
    ]);
    const allExpert2 = all.experts[2];
    // Gathered rows are the tokens themselves, so a route's source row is its token.
    expect(
      Array.from(all.data.subarray(allExpert2.routeStart, allExpert2.routeStart + 6)).filter(
        (_, i) => i % 3 !== 2,
      ),
    ).toEqual([1, 1, 2, 2]);
  });
});

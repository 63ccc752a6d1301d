import { describe, expect, it } from 'vitest';
import { relativeMaxError } from '../../../test/compare';
import { KERNEL_FORMS, useGpu } from '../../../test/gpu';
import { gaussian } from '../../../test/random';
import { createStorageBuffer, readFloat32, uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import {
  referenceActivation,
  referenceAttention,
  referenceLayerNorm,
  referenceLinear,
  referenceNllFromLogits,
  referenceRmsNorm,
  referenceRotary,
} from './forward.reference';
import type { ActivationName } from './kernels/activation-codes';
import { encodeAttention } from './kernels/attention';
import { encodeGather } from './kernels/embedding';
import { encodeLinear, linearForm } from './kernels/linear';
import { encodeLogSumExp, initialLogSumExpState } from './kernels/logsumexp';
import { encodeNorm } from './kernels/norm';
import { encodeRotary } from './kernels/rotary';
import { encodeGatedActivation } from './kernels/swiglu';
import { ropeTable } from './rope';

function run(ctx: GpuContext, encode: (batch: CommandRecorder) => void) {
  return withErrorScope(ctx, 'kernel test', () => {
    const batch = new CommandRecorder(ctx, 'kernel test');
    encode(batch);
    batch.submit();
    batch.destroy();
  });
}

const TOLERANCE = 2e-6;

describe.each(KERNEL_FORMS)('linear kernels (X·Wᵀ + bias, activation, residual), %s', (_, kernels) => {
  const gpu = useGpu(kernels);

  it('runs the forms of its kernel target (so the tests below exercise them)', async () => {
    const ctx = await gpu();
    const many = linearForm(ctx, 24, 130);
    const few = linearForm(ctx, 24, 3);
    if (kernels.kernels === 'cpu') expect([many, few]).toEqual(['register', 'register']);
    else expect([many, few]).toEqual(['tiled', ctx.features.subgroups ? 'subgroup' : 'tiled']);
    expect(linearForm(ctx, 13, 130)).toBe('unaligned');
  });

  // 600-byte bindings: a 29×24 weight splits into shards of 6 rows, 29×13 into shards of 11.
  const smallBindings = useGpu({ ...kernels, testLimits: { maxStorageBufferBindingSize: 600 } });

  it.each([
    ['vec4 path', 37, 24, 29],
    ['vec4 path, a few tokens (the subgroup form on a GPU)', 3, 24, 29],
    ['vec4 path, several tiles each way', 130, 36, 70],
    ['unaligned path', 37, 13, 29],
    ['a single token and output', 1, 7, 1],
  ])('%s matches float64: tokens=%i in=%i out=%i, with bias', async (_, tokens, features, rows) => {
    const ctx = await gpu();
    const X = gaussian(tokens * features, tokens + features);
    const W = gaussian(rows * features, rows * 7 + 1);
    const bias = gaussian(rows, 99);
    const Y = createStorageBuffer(ctx, tokens * rows * 4, 'Y');
    const matrix = SplitMatrix.upload(ctx, W, rows, features, 'W');
    const biasBuffer = uploadFloat32(ctx, bias, 'bias');
    const XBuffer = uploadFloat32(ctx, X, 'X');
    await run(ctx, (batch) =>
      encodeLinear(ctx, batch, { X: XBuffer, tokens, W: matrix, bias: biasBuffer, Y }),
    );
    const expected = referenceLinear(X, tokens, W, rows, features, bias);
    expect(relativeMaxError(await readFloat32(ctx, Y, tokens * rows), expected)).toBeLessThan(TOLERANCE);
    for (const b of [Y, biasBuffer, XBuffer]) b.destroy();
    matrix.destroy();
  });

  it.each([24, 13])(
    'splits W into row shards under a low binding limit (in=%i) with the same result',
    async (features) => {
      const ctx = await smallBindings();
      const [tokens, rows] = [9, 29];
      const X = gaussian(tokens * features, 3);
      const W = gaussian(rows * features, 4);
      const bias = gaussian(rows, 5);
      const residual = gaussian(tokens * rows, 6);
      const matrix = SplitMatrix.upload(ctx, W, rows, features, 'W');
      expect(matrix.parts.length).toBeGreaterThan(2);
      const Y = createStorageBuffer(ctx, tokens * rows * 4, 'Y');
      const inputs = [
        uploadFloat32(ctx, X, 'X'),
        uploadFloat32(ctx, bias, 'b'),
        uploadFloat32(ctx, residual, 'r'),
      ];
      await run(ctx, (batch) =>
        encodeLinear(ctx, batch, {
          X: inputs[0],
          tokens,
          W: matrix,
          bias: inputs[1],
          residual: inputs[2],
          Y,
        }),
      );
      const expected = referenceLinear(X, tokens, W, rows, features, bias).map((v, i) => v + residual[i]);
      expect(relativeMaxError(await readFloat32(ctx, Y, tokens * rows), expected)).toBeLessThan(TOLERANCE);
    },
  );

  it.each([
    ['vec4 path', 8, 5],
    ['vec4 path, a few tokens', 8, 3],
    ['unaligned path', 7, 5],
  ])(
    '%s: applies a row range of W into chosen output columns, X, Y and residual each from their own row',
    async (_, features, tokens) => {
      const ctx = await gpu();
      const [rows, xRowStart, rowStart, count, outStride, outColumnStart] = [20, 3, 7, 9, 12, 2];
      // Y and the residual at different row offsets: a token slice written back into a whole-chunk buffer.
      const [yRowStart, residualRowStart] = [4, 1];
      const X = gaussian((tokens + xRowStart) * features, 11);
      const W = gaussian(rows * features, 12);
      const residual = gaussian((tokens + residualRowStart) * outStride, 13);
      const matrix = SplitMatrix.upload(ctx, W, rows, features, 'W');
      const Y = uploadFloat32(ctx, new Float32Array((tokens + yRowStart + 1) * outStride).fill(-7), 'Y');
      const [XBuffer, residualBuffer] = [uploadFloat32(ctx, X, 'X'), uploadFloat32(ctx, residual, 'r')];
      await run(ctx, (batch) =>
        encodeLinear(ctx, batch, {
          X: XBuffer,
          xRowStart,
          tokens,
          W: matrix,
          rowStart,
          rows: count,
          residual: residualBuffer,
          residualRowStart,
          Y,
          yRowStart,
          outStride,
          outColumnStart,
        }),
      );
      const result = await readFloat32(ctx, Y, (tokens + yRowStart + 1) * outStride);
      const full = referenceLinear(X.subarray(xRowStart * features), tokens, W, rows, features);
      for (let row = 0; row < tokens + yRowStart + 1; row++) {
        const t = row - yRowStart;
        for (let c = 0; c < outStride; c++) {
          const inRange = t >= 0 && t < tokens && c >= outColumnStart && c < outColumnStart + count;
          const expected = inRange
            ? full[t * rows + rowStart + c - outColumnStart] +
              residual[(residualRowStart + t) * outStride + c]
            : -7;
          expect(result[row * outStride + c]).toBeCloseTo(expected, 5);
        }
      }
      for (const b of [Y, XBuffer, residualBuffer]) b.destroy();
      matrix.destroy();
    },
  );

  it.each<ActivationName>(['relu', 'gelu_new', 'gelu', 'silu'])(
    'applies %s after the bias, stable for large inputs',
    async (activation) => {
      const ctx = await gpu();
      // X = identity columns so that pre-activations are exactly the bias plus a known spread from -30 to 30.
      const count = 61;
      const X = new Float32Array(count);
      const W = new Float32Array(count);
      for (let i = 0; i < count; i++) X[i] = -30 + i;
      W[0] = 1;
      const bias = new Float32Array(1).fill(0.25);
      const matrix = SplitMatrix.upload(ctx, W.subarray(0, 1), 1, 1, 'W');
      const Y = createStorageBuffer(ctx, count * 4, 'Y');
      const [XBuffer, biasBuffer] = [uploadFloat32(ctx, X, 'X'), uploadFloat32(ctx, bias, 'b')];
      await run(ctx, (batch) =>
        encodeLinear(ctx, batch, { X: XBuffer, tokens: count, W: matrix, bias: biasBuffer, activation, Y }),
      );
      const result = await readFloat32(ctx, Y, count);
      for (let i = 0; i < count; i++) {
        const expected = referenceActivation(activation, X[i] + 0.25);
        expect(Math.abs(result[i] - expected)).toBeLessThan(2e-6 * Math.max(1, Math.abs(expected)));
      }
      // Fine grid near zero, where gelu's relative accuracy matters most.
      const fine = Float32Array.from({ length: count }, (_, i) => (i - 30) / 37);
      const fineBuffer = uploadFloat32(ctx, fine, 'fine');
      await run(ctx, (batch) =>
        encodeLinear(ctx, batch, { X: fineBuffer, tokens: count, W: matrix, activation, Y }),
      );
      const fineResult = await readFloat32(ctx, Y, count);
      for (let i = 0; i < count; i++) {
        expect(Math.abs(fineResult[i] - referenceActivation(activation, fine[i]))).toBeLessThan(1e-6);
      }
    },
  );
});

describe('linear kernels: the GPU forms agree with the CPU form', () => {
  const contexts = KERNEL_FORMS.map(([, kernels]) => useGpu(kernels));
  it.each([
    [130, 36, 70, 'tiled'],
    [3, 64, 45, 'subgroup'],
    [1, 256, 9, 'subgroup'],
  ])('tokens=%i in=%i out=%i (%s on a GPU), gelu and residual, to ≤ 1e-6', async (tokens, features, rows) => {
    const X = gaussian(tokens * features, 21);
    const W = gaussian(rows * features, 22);
    const bias = gaussian(rows, 23);
    const residual = gaussian(tokens * rows, 24);
    const results = await Promise.all(
      contexts.map(async (gpu) => {
        const ctx = await gpu();
        const matrix = SplitMatrix.upload(ctx, W, rows, features, 'W');
        const inputs = [X, bias, residual].map((values) => uploadFloat32(ctx, values, 'input'));
        const Y = createStorageBuffer(ctx, tokens * rows * 4, 'Y');
        await run(ctx, (batch) =>
          encodeLinear(ctx, batch, {
            X: inputs[0],
            tokens,
            W: matrix,
            bias: inputs[1],
            residual: inputs[2],
            activation: 'gelu',
            Y,
          }),
        );
        const out = await readFloat32(ctx, Y, tokens * rows);
        for (const buffer of [...inputs, Y]) buffer.destroy();
        matrix.destroy();
        return out;
      }),
    );
    for (const other of results.slice(1)) expect(relativeMaxError(other, results[0])).toBeLessThan(1e-6);
  });
});

describe('norm kernels', () => {
  const gpu = useGpu();

  it.each([
    [7, 37],
    [3, 130],
  ])(
    'RMSNorm and LayerNorm match float64 for %i rows of %i features, from and to a row offset',
    async (rows, features) => {
      const ctx = await gpu();
      const [offset, yRowStart] = [2, 3];
      const X = gaussian((rows + offset) * features, rows).map((x, i) => x * 3 + (i % 5));
      const weight = gaussian(features, 2).map((w) => 1 + 0.2 * w);
      const bias = gaussian(features, 3);
      const buffers = {
        X: uploadFloat32(ctx, X, 'X'),
        weight: uploadFloat32(ctx, weight, 'w'),
        bias: uploadFloat32(ctx, bias, 'b'),
        Y: createStorageBuffer(ctx, (yRowStart + rows) * features * 4, 'Y'),
      };
      const source = X.subarray(offset * features);
      for (const kind of ['rmsnorm', 'layernorm'] as const) {
        await run(ctx, (batch) =>
          encodeNorm(ctx, batch, {
            kind,
            X: buffers.X,
            xRowStart: offset,
            rows,
            features,
            eps: 1e-5,
            weights: { weight: buffers.weight, bias: buffers.bias },
            Y: buffers.Y,
            yRowStart,
          }),
        );
        const expected =
          kind === 'rmsnorm'
            ? referenceRmsNorm(source, rows, features, weight, 1e-5)
            : referenceLayerNorm(source, rows, features, weight, bias, 1e-5);
        const written = await readFloat32(ctx, buffers.Y, rows * features, yRowStart * features);
        expect(relativeMaxError(written, expected)).toBeLessThan(TOLERANCE);
      }
    },
  );
});

describe('rotary embedding kernel', () => {
  const gpu = useGpu();

  it.each([
    ['full rotation', 6, 6],
    ['partial rotation', 6, 4],
  ])('%s of query and key heads matches rotate_half in float64', async (_, headDim, rotaryDim) => {
    const ctx = await gpu();
    const [sequences, seqLen, heads, kvHeads] = [2, 5, 3, 1];
    const tokens = sequences * seqLen;
    const rowStride = (heads + 2 * kvHeads) * headDim;
    const data = gaussian(tokens * rowStride, 21);
    const table = ropeTable({ theta: 10000, rotaryDim, maxPositions: 64 }, seqLen, 3);
    const qkv = uploadFloat32(ctx, data, 'qkv');
    const tableBuffer = uploadFloat32(ctx, Float32Array.from(table), 'table');
    await run(ctx, (batch) =>
      encodeRotary(ctx, batch, {
        qkv,
        tokens,
        seqLen,
        rowStride,
        rotatedHeads: heads + kvHeads,
        headDim,
        rotaryDim,
        table: tableBuffer,
      }),
    );
    const expected = Float64Array.from(data);
    referenceRotary(expected, tokens, rowStride, 0, heads + kvHeads, headDim, rotaryDim, table, seqLen);
    // The value heads (past the rotated ones) must be untouched.
    expect(relativeMaxError(await readFloat32(ctx, qkv, tokens * rowStride), expected)).toBeLessThan(
      TOLERANCE,
    );
  });
});

describe('causal attention kernel (flash style, grouped K/V)', () => {
  const gpu = useGpu();
  const tinyWorkgroupMemory = useGpu({ testLimits: { maxComputeWorkgroupStorageSize: 2 * 5 * 4 * 3 } });

  it.each([
    // sequences, seqLen, heads, kvHeads, headDim: seqLen 37 crosses a query tile (32) and several key tiles.
    [2, 37, 4, 2, 5],
    [1, 70, 2, 2, 16],
    [3, 1, 3, 1, 4],
  ])(
    'matches float64 softmax attention: %i × %i tokens, %i heads / %i kv heads of %i',
    async (sequences, seqLen, heads, kvHeads, headDim) => {
      const ctx = await gpu();
      await checkAttention(ctx, sequences, seqLen, heads, kvHeads, headDim);
    },
  );

  it('works with key tiles of 3 when workgroup memory is scarce', async () => {
    await checkAttention(await tinyWorkgroupMemory(), 2, 11, 2, 1, 5);
  });

  it("writes a head group's columns of a wider output and leaves the other columns as they were", async () => {
    // 2 query heads of 5 at column 20 of 32-wide rows, as the third group of a block split by head ranges writes
    // them; the 2 columns past them check the other side.
    await checkAttention(await gpu(), 2, 37, 2, 1, 5, { outColumn: 20, outStride: 32 });
  });

  it('writes query ranges into token-range buffers from their row 0, bit-identical to one whole dispatch', async () => {
    // Three sequences of 37 tokens whose attention output is split into token ranges [0, 50) and [50, 111), as a
    // block does when the output exceeds one binding: the first range holds sequence 0 and queries 0..12 of
    // sequence 1, the second queries 13..36 of sequence 1 (not at a query tile boundary) and sequence 2.
    const ctx = await gpu();
    const [sequences, seqLen, heads, kvHeads, headDim] = [3, 37, 4, 2, 5];
    const [tokens, q, kv] = [sequences * seqLen, heads * headDim, kvHeads * headDim];
    const data = gaussian(tokens * (q + 2 * kv), 77).map((x) => 2 * x);
    const scale = 1 / Math.sqrt(headDim);
    const qkv = uploadFloat32(ctx, data, 'qkv');
    const common = { qkv, seqLen, heads, kvHeads, headDim, rowStride: q + 2 * kv, keyColumn: q };
    const args = { ...common, valueColumn: q + kv, scale, outStride: q };
    const whole = createStorageBuffer(ctx, tokens * q * 4, 'whole');
    const [first, second] = [50, 61].map((rows) => createStorageBuffer(ctx, rows * q * 4, 'range'));
    await run(ctx, (batch) => {
      encodeAttention(ctx, batch, { ...args, sequences, out: whole });
      encodeAttention(ctx, batch, { ...args, sequences: 1, out: first });
      encodeAttention(ctx, batch, { ...args, sequences: 1, firstSequence: 1, queryEnd: 13, out: first });
      const rest = { ...args, sequences: 1, out: second, outRowOffset: 50 };
      encodeAttention(ctx, batch, { ...rest, firstSequence: 1, queryStart: 13 });
      encodeAttention(ctx, batch, { ...rest, firstSequence: 2 });
    });
    const joined = new Float32Array(tokens * q);
    joined.set(await readFloat32(ctx, first, 50 * q));
    joined.set(await readFloat32(ctx, second, 61 * q), 50 * q);
    expect(joined).toEqual(await readFloat32(ctx, whole, tokens * q));
    const expected = fusedReferenceAttention(data, sequences, seqLen, heads, kvHeads, headDim, scale);
    expect(relativeMaxError(joined, expected)).toBeLessThan(TOLERANCE);
    for (const buffer of [qkv, whole, first, second]) buffer.destroy();
  });

  /** The float64 reference on a fused [tokens, q | k | v] buffer, queries from column 0. */
  function fusedReferenceAttention(
    data: Float32Array,
    sequences: number,
    seqLen: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    scale: number,
  ): Float64Array {
    const tokens = sequences * seqLen;
    const [q, kv] = [heads * headDim, kvHeads * headDim];
    const rowStride = q + 2 * kv;
    const split = (start: number, width: number) => {
      const part = new Float64Array(tokens * width);
      for (let t = 0; t < tokens; t++) {
        for (let i = 0; i < width; i++) part[t * width + i] = data[t * rowStride + start + i];
      }
      return part;
    };
    return referenceAttention(
      split(0, q),
      split(q, kv),
      split(q + kv, kv),
      sequences,
      seqLen,
      heads,
      kvHeads,
      headDim,
      scale,
    );
  }

  async function checkAttention(
    ctx: GpuContext,
    sequences: number,
    seqLen: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    placement: { outColumn: number; outStride: number } = { outColumn: 0, outStride: heads * headDim },
  ) {
    const tokens = sequences * seqLen;
    const q = heads * headDim;
    const kv = kvHeads * headDim;
    const rowStride = q + 2 * kv;
    const { outColumn, outStride } = placement;
    // Large-ish scores so the online softmax's rescaling matters.
    const data = gaussian(tokens * rowStride, seqLen * 13 + headDim).map((x) => 2 * x);
    const qkv = uploadFloat32(ctx, data, 'qkv');
    // Columns outside the heads' own must keep what was there (another head group's output).
    const SENTINEL = 7;
    const out = uploadFloat32(ctx, new Float32Array(tokens * outStride).fill(SENTINEL), 'out');
    const scale = 1 / Math.sqrt(headDim);
    await run(ctx, (batch) =>
      encodeAttention(ctx, batch, {
        qkv,
        sequences,
        seqLen,
        heads,
        kvHeads,
        headDim,
        rowStride,
        keyColumn: q,
        valueColumn: q + kv,
        scale,
        out,
        outStride,
        outColumn,
      }),
    );
    const expected = fusedReferenceAttention(data, sequences, seqLen, heads, kvHeads, headDim, scale);
    const written = await readFloat32(ctx, out, tokens * outStride);
    const ownColumns = new Float32Array(tokens * q);
    let othersChanged = 0;
    for (let t = 0; t < tokens; t++) {
      for (let c = 0; c < outStride; c++) {
        const value = written[t * outStride + c];
        if (c >= outColumn && c < outColumn + q) ownColumns[t * q + c - outColumn] = value;
        else if (value !== SENTINEL) othersChanged++;
      }
    }
    expect(othersChanged).toBe(0);
    expect(relativeMaxError(ownColumns, expected)).toBeLessThan(TOLERANCE);
  }
});

describe('gated activation, embedding gather and log-sum-exp kernels', () => {
  const gpu = useGpu();
  const smallBindings = useGpu({ testLimits: { maxStorageBufferBindingSize: 256 } });

  it('SwiGLU: silu(gate)·up from a fused gate|up buffer', async () => {
    const ctx = await gpu();
    const [tokens, intermediate] = [7, 19];
    const gateUp = gaussian(tokens * 2 * intermediate, 31).map((x) => 4 * x);
    const input = uploadFloat32(ctx, gateUp, 'gateUp');
    const Y = createStorageBuffer(ctx, tokens * intermediate * 4, 'Y');
    await run(ctx, (batch) =>
      encodeGatedActivation(ctx, batch, { gateUp: input, tokens, intermediate, activation: 'silu', Y }),
    );
    const expected = new Float64Array(tokens * intermediate);
    for (let t = 0; t < tokens; t++) {
      for (let i = 0; i < intermediate; i++) {
        const gate = gateUp[t * 2 * intermediate + i];
        expected[t * intermediate + i] =
          referenceActivation('silu', gate) * gateUp[t * 2 * intermediate + intermediate + i];
      }
    }
    expect(relativeMaxError(await readFloat32(ctx, Y, tokens * intermediate), expected)).toBeLessThan(
      TOLERANCE,
    );
  });

  it('gathers rows of a table split into shards, then adds a second table', async () => {
    const ctx = await smallBindings();
    const [vocab, features, positionsRows] = [23, 7, 9];
    const table = gaussian(vocab * features, 41);
    const positions = gaussian(positionsRows * features, 42);
    const matrix = SplitMatrix.upload(ctx, table, vocab, features, 'table');
    const positionMatrix = SplitMatrix.upload(ctx, positions, positionsRows, features, 'positions');
    expect(matrix.parts.length).toBeGreaterThan(2);
    const ids = Uint32Array.from([0, 22, 5, 9, 9, 17, 1, 13]);
    const positionIds = Uint32Array.from([2, 3, 4, 5, 2, 3, 4, 8]);
    const upload = (data: Uint32Array) => {
      const buffer = createStorageBuffer(ctx, data.byteLength, 'ids');
      ctx.device.queue.writeBuffer(buffer, 0, data);
      return buffer;
    };
    const Y = createStorageBuffer(ctx, ids.length * features * 4, 'Y');
    await run(ctx, (batch) => {
      encodeGather(ctx, batch, { table: matrix, ids: upload(ids), tokens: ids.length, Y, accumulate: false });
      encodeGather(ctx, batch, {
        table: positionMatrix,
        ids: upload(positionIds),
        tokens: ids.length,
        Y,
        accumulate: true,
      });
    });
    const result = await readFloat32(ctx, Y, ids.length * features);
    for (let t = 0; t < ids.length; t++) {
      for (let f = 0; f < features; f++) {
        const expected = table[ids[t] * features + f] + positions[positionIds[t] * features + f];
        expect(result[t * features + f]).toBeCloseTo(expected, 6);
      }
    }
  });

  it('folds vocabulary slices into the exact NLL, for any slicing and a state row offset', async () => {
    const ctx = await gpu();
    const [tokens, vocab, slice, stateOffset] = [9, 300, 70, 4];
    const logits = gaussian(tokens * vocab, 51).map((x) => 6 * x);
    const targets = Int32Array.from([0, 299, 70, 69, 140, 5, -1, 210, 211]);
    const allTargets = new Int32Array(stateOffset + tokens).fill(-1);
    allTargets.set(targets, stateOffset);
    const state = uploadFloat32(ctx, initialLogSumExpState(stateOffset + tokens), 'state');
    const targetBuffer = createStorageBuffer(ctx, allTargets.byteLength, 'targets');
    ctx.device.queue.writeBuffer(targetBuffer, 0, allTargets);
    await run(ctx, (batch) => {
      for (let v0 = 0; v0 < vocab; v0 += slice) {
        const columns = Math.min(slice, vocab - v0);
        const part = new Float32Array(tokens * columns);
        for (let t = 0; t < tokens; t++)
          part.set(logits.subarray(t * vocab + v0, t * vocab + v0 + columns), t * columns);
        const partBuffer = batch.untilSubmit(uploadFloat32(ctx, part, 'logits part'));
        encodeLogSumExp(ctx, batch, {
          logits: partBuffer,
          tokens,
          columns,
          vocabStart: v0,
          targets: targetBuffer,
          state,
          stateRowStart: stateOffset,
        });
      }
    });
    const folded = await readFloat32(ctx, state, (stateOffset + tokens) * 4);
    const expected = referenceNllFromLogits(Float64Array.from(logits), vocab, targets);
    for (let t = 0; t < tokens; t++) {
      const row = (stateOffset + t) * 4;
      const nll = folded[row] + Math.log(folded[row + 1]) - folded[row + 2];
      if (targets[t] < 0) expect(folded[row + 2]).toBeNaN();
      else expect(Math.abs(nll - expected[t])).toBeLessThan(2e-5 * Math.max(1, expected[t]));
    }
  });
});

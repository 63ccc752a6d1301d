/**
 * The CPU quantizers against llama.cpp's own (ggml_quantize_chunk and dequantize_row_* from the libggml that
 * node-llama-cpp ships): the bytes must be identical and the dequantized values bit-identical, on weights as
 * pruning leaves them (zeros), on ties, outliers, constant, tiny and all-zero blocks.
 */
import { describe, expect, it } from 'vitest';
import { ggmlQuantize } from '../../../test/llama-cpp/ggml';
import { gaussian, mulberry32 } from '../../../test/random';
import { blockQuantizer, dequantizeRows, quantizeRows } from './rows';

const COLUMNS = 512;

/** Rows of typical and awkward weights, 512 wide (two K-quant super-blocks, 16 legacy blocks). */
function testRows(): Float32Array {
  const rows: Float32Array[] = [];
  const row = (fill: (i: number) => number) =>
    rows.push(Float32Array.from({ length: COLUMNS }, (_, i) => fill(i)));
  const weights = gaussian(COLUMNS * 6, 7);
  const random = mulberry32(3);
  row((i) => 0.02 * weights[i]);
  // Unstructured 50 %: the smaller half by magnitude set to zero.
  const sorted = [...weights.subarray(COLUMNS, 2 * COLUMNS)].map(Math.abs).sort((a, b) => a - b);
  row((i) => (Math.abs(weights[COLUMNS + i]) > sorted[COLUMNS / 2] ? weights[COLUMNS + i] : 0));
  // 2:4: two zeros in every four.
  row((i) => (i % 4 < 2 ? 0 : weights[2 * COLUMNS + i]));
  // One outlier per 32, and one per 256.
  row((i) => (i % 32 === 5 ? 40 : 0.01 * weights[3 * COLUMNS + i]) * (i % 256 === 7 ? -30 : 1));
  // Ties: x·(1/d) lands on .5 (Q8_0 rounds half away from zero, the K-quants to even).
  row((i) => (i % 32 === 0 ? 127 : (i % 64) - 31.5));
  row((i) => (i % 16 === 0 ? -8 : Math.round(random() * 16 - 8) + 0.5));
  // Constant blocks, all-positive, all-negative, tiny (fp16 subnormal scales), huge.
  row((i) => (i < 256 ? 0.75 : -0.25));
  row((i) => Math.abs(weights[4 * COLUMNS + i]));
  row((i) => -Math.abs(weights[4 * COLUMNS + i]) - 1);
  row((i) => 1e-7 * weights[5 * COLUMNS + i]);
  row((i) => 3000 * weights[5 * COLUMNS + i]);
  // All zero, and zero blocks inside a non-zero super-block.
  row(() => 0);
  row((i) => (Math.floor(i / 32) % 3 === 0 ? 0 : weights[i]));
  row((i) => (Math.floor(i / 16) % 2 === 0 ? 0 : weights[2 * COLUMNS + i]));
  const out = new Float32Array(rows.length * COLUMNS);
  rows.forEach((r, i) => {
    out.set(r, i * COLUMNS);
  });
  return out;
}

const bits = (values: Float32Array) => new Uint32Array(values.buffer, values.byteOffset, values.length);

describe.each(['Q8_0', 'Q4_0', 'Q5_0', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K'] as const)('%s', (type) => {
  const values = testRows();
  const reference = ggmlQuantize(type, values, COLUMNS);

  it('quantizes to the same bytes as llama.cpp', () => {
    const ours = quantizeRows(type, values, COLUMNS);
    expect(ours.length).toBe(reference.bytes.length);
    const firstDifference = ours.findIndex((byte, i) => byte !== reference.bytes[i]);
    expect(firstDifference).toBe(-1);
  });

  it('dequantizes bit-identically to llama.cpp', () => {
    const ours = dequantizeRows(type, reference.bytes, values.length);
    expect([...bits(ours)]).toEqual([...bits(reference.dequantized)]);
  });

  // Codes themselves may differ where the stored scale is 0 (a tiny block's fp16 scale underflows): any code gives
  // the same value there (up to the sign of zero).
  it('re-quantizes dequantized values under the stored scales to the same values', () => {
    const quantizer = blockQuantizer(type);
    if (!quantizer) throw new Error(`no block quantizer for ${type}`);
    const codes = new Int32Array(quantizer.blockSize);
    for (let block = 0; block < values.length / quantizer.blockSize; block++) {
      const scales = quantizer.unpack(reference.bytes, block * quantizer.blockBytes, codes);
      for (let i = 0; i < quantizer.blockSize; i++) {
        const value = quantizer.value(codes[i], scales, i);
        const again = quantizer.value(quantizer.code(value, scales, i), scales, i);
        if (again !== value) expect({ block, i, again }).toEqual({ block, i, again: value });
      }
    }
  });
});

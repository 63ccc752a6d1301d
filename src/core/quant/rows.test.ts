/**
 * The CPU quantizers against llama.cpp's own (ggml_quantize_chunk and dequantize_row_* from the libggml that
 * node-llama-cpp ships): the bytes must be identical and the dequantized values bit-identical, on weights as
 * pruning leaves them (zeros), on ties, outliers, constant, tiny and all-zero blocks.
 */
import { describe, expect, it } from 'vitest';
import { ggmlQuantize } from '../../../test/llama-cpp/ggml';
import { COLUMNS, testRows } from './quant.fixtures';
import { blockQuantizer, dequantizeRows, quantizeRows } from './rows';

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

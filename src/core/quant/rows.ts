/**
 * Whole rows to and from ggml's tensor bytes, for every type this tool writes: float rows (F32, F16, BF16) as
 * ggml stores them, block rows by round-to-nearest with ggml's rules (llama.cpp's quantizer without an importance
 * matrix), and dequantization of any of them back to float32.
 */
import { decodeFloats, encodeFloats } from '../io/dtype';
import type { BlockQuantizer } from './block-quantizer';
import { GGML_TYPES, type GgmlType, rowBytes } from './ggml-types';
import { Q4_K, Q5_K, Q6_K } from './k-blocks';
import { Q4_0, Q5_0, Q5_1, Q8_0 } from './legacy-blocks';

const BLOCK_QUANTIZERS: Partial<Record<GgmlType, BlockQuantizer>> = {
  Q8_0,
  Q4_0,
  Q5_0,
  Q5_1,
  Q4_K,
  Q5_K,
  Q6_K,
} as Partial<Record<GgmlType, BlockQuantizer>>;

/** The block quantizer of a quantized type (undefined for F32, F16, BF16). */
export function blockQuantizer(type: GgmlType): BlockQuantizer | undefined {
  return BLOCK_QUANTIZERS[type];
}

/** `rows` rows of `columns` values (row-major) as `type` bytes. */
export function quantizeRows(type: GgmlType, values: Float32Array, columns: number): Uint8Array {
  const rows = values.length / columns;
  if (type === 'F32' || type === 'F16' || type === 'BF16') return encodeFloats(values, type);
  const quantizer = BLOCK_QUANTIZERS[type] as BlockQuantizer;
  const perRow = rowBytes(type, columns);
  const out = new Uint8Array(rows * perRow);
  const codes = new Int32Array(quantizer.blockSize);
  const { blockSize, blockBytes } = quantizer;
  for (let block = 0; block < values.length / blockSize; block++) {
    const start = block * blockSize;
    const scales = quantizer.scales(values, start);
    for (let i = 0; i < blockSize; i++) codes[i] = quantizer.code(values[start + i], scales, i);
    quantizer.pack(codes, scales, out, block * blockBytes);
  }
  return out;
}

/** `type` bytes back to float32 values, as ggml's dequantize_row_* (or fp16/bf16 conversion) gives them. */
export function dequantizeRows(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  if (type === 'F32' || type === 'F16' || type === 'BF16') {
    decodeFloats(bytes.subarray(0, count * GGML_TYPES[type].blockBytes), type, out);
    return out;
  }
  const quantizer = BLOCK_QUANTIZERS[type] as BlockQuantizer;
  const { blockSize, blockBytes } = quantizer;
  const codes = new Int32Array(blockSize);
  for (let block = 0; block < count / blockSize; block++) {
    const scales = quantizer.unpack(bytes, block * blockBytes, codes);
    for (let i = 0; i < blockSize; i++) out[block * blockSize + i] = quantizer.value(codes[i], scales, i);
  }
  return out;
}

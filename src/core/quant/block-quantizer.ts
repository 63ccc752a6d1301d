/**
 * One ggml block format as the pieces a quantizer needs, per block of one row: the scales (and minimums) ggml
 * computes from the block's values, the code ggml gives one value under those scales, the float32 value a code
 * dequantizes to (bit-exactly what ggml's dequantize_row_* gives), and the byte layout. Round-to-nearest is
 * `scales` once per block, then `code` for each value; the GPTQ walk calls `scales` when it reaches a block's first
 * column (from the already-updated weights) and `code`/`value` column by column, so what it leaves behind is what
 * the file stores.
 */
import type { GgmlType } from './ggml-types';

export interface BlockQuantizer<Scales = unknown> {
  readonly type: GgmlType;
  /** Elements per block along a row (32, or 256 for the K-quants). */
  readonly blockSize: number;
  readonly blockBytes: number;
  /** Elements that share one scale (and minimum) inside a block. */
  readonly groupSize: number;
  /** Whether 0 always quantizes to exactly 0, so pruned weights stay pruned. */
  readonly zeroExact: boolean;
  /** ggml's scales for the block values[start, start + blockSize). */
  scales(values: ArrayLike<number>, start: number): Scales;
  /** ggml's code for value x at position `index` of the block (values outside the block's range clamp to the grid). */
  code(x: number, scales: Scales, index: number): number;
  /** The float32 value that code `q` at position `index` dequantizes to. */
  value(q: number, scales: Scales, index: number): number;
  /** Writes one block (its codes and scales) at out[offset …] in ggml's layout. */
  pack(codes: ArrayLike<number>, scales: Scales, out: Uint8Array, offset: number): void;
  /** Reads one block: fills `codes` and returns the stored scales (`code` under them reproduces stored codes). */
  unpack(bytes: Uint8Array, offset: number, codes: Int32Array): Scales;
}

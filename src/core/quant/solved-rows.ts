/**
 * Rows the GPU solver quantized (GPTQ or round-to-nearest in the walk) to ggml's tensor bytes: each weight is
 * already the value of a code under its block's scales, which the solver hands over as scale words per block and
 * row (shaders/solver/ggml_blocks.wgsl lays them out). Each value's code is found again under the stored scales with
 * the CPU quantizer, and the value that code dequantizes to must be the value itself: that check is what makes the
 * file hold exactly the model the solver scored, and a failure stops the write.
 */
import { encodeFloats } from '../io/dtype';
import type { BlockQuantizer } from './block-quantizer';
import { f32, throughHalf } from './float32';
import { type GgmlType, rowBytes } from './ggml-types';
import { kScalesOf } from './k-blocks';
import type { LegacyScales } from './legacy-blocks';
import { blockQuantizer } from './rows';

/** Scale words per block as the solver writes them (0: plain floats). */
export const SOLVER_SCALE_WORDS: Partial<Record<GgmlType, number>> = {
  F32: 0,
  F16: 0,
  Q8_0: 2,
  Q4_0: 2,
  Q5_0: 2,
  Q5_1: 4,
  Q4_K: 18,
  Q5_K: 18,
  Q6_K: 18,
};

export class OffGridError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffGridError';
  }
}

/** The quantizer's scales of one block from its words at words[at …] (the stored, rounded scales). */
export function scalesFromWords(type: GgmlType, words: ArrayLike<number>, at: number): unknown {
  switch (type) {
    case 'Q4_K':
    case 'Q5_K':
      return kScalesOf(
        words[at],
        words[at + 1],
        Array.from({ length: 8 }, (_, j) => words[at + 2 + j]),
        Array.from({ length: 8 }, (_, j) => words[at + 10 + j]),
      );
    case 'Q6_K':
      return kScalesOf(
        words[at],
        0,
        Array.from({ length: 16 }, (_, j) => words[at + 1 + j]),
        new Array(16).fill(0),
      );
    default: {
      // Codes are found again under the stored scale d: x·(1/d) lands within an ulp of the code.
      const d = words[at];
      const m = type === 'Q5_1' ? words[at + 3] : 0;
      return { d, inverse: d ? f32(1 / d) : 0, min: m, m } satisfies LegacyScales;
    }
  }
}

/** `rows` rows of `columns` solver values (row-major) and their scale words as `type` bytes, checked. */
export function packSolvedRows(
  type: GgmlType,
  values: Float32Array,
  scaleWords: ArrayLike<number> | undefined,
  columns: number,
  tensor = 'tensor',
): Uint8Array {
  if (type === 'F32' || type === 'F16' || type === 'BF16') {
    if (type === 'F16') {
      for (let i = 0; i < values.length; i++) {
        if (throughHalf(values[i]) !== values[i]) offGrid(tensor, type, columns, i, values[i]);
      }
    }
    return encodeFloats(values, type);
  }
  const quantizer = blockQuantizer(type) as BlockQuantizer;
  const words = SOLVER_SCALE_WORDS[type];
  if (!quantizer || !words || !scaleWords) throw new Error(`${tensor}: no scale words for ${type}`);
  const { blockSize, blockBytes } = quantizer;
  const rows = values.length / columns;
  const blocksPerRow = columns / blockSize;
  if (scaleWords.length !== rows * blocksPerRow * words) {
    throw new Error(
      `${tensor}: ${scaleWords.length} scale words for ${rows} rows of ${blocksPerRow} ${type} blocks`,
    );
  }
  const out = new Uint8Array(rows * rowBytes(type, columns));
  const codes = new Int32Array(blockSize);
  for (let block = 0; block < rows * blocksPerRow; block++) {
    const scales = scalesFromWords(type, scaleWords, block * words);
    const start = block * blockSize;
    for (let i = 0; i < blockSize; i++) {
      const value = values[start + i];
      codes[i] = quantizer.code(value, scales, i);
      // ±0 are the same weight: Q4_0's code 8 under a negative scale dequantizes to −0.
      if (quantizer.value(codes[i], scales, i) !== value) offGrid(tensor, type, columns, start + i, value);
    }
    quantizer.pack(codes, scales, out, block * blockBytes);
  }
  return out;
}

function offGrid(tensor: string, type: GgmlType, columns: number, index: number, value: number): never {
  throw new OffGridError(
    `${tensor}: the quantized weight at row ${Math.floor(index / columns)}, column ${index % columns} (${value}) is ` +
      `not a ${type} value of its block, so the file would not hold the model that was scored. Please report this.`,
  );
}

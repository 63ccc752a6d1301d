/**
 * The ggml tensor types a GGUF file may hold, with ggml's numeric ids (ggml.h's enum ggml_type), elements per block
 * and bytes per block (ggml-common.h's block structs). Only the types this tool writes or reads are listed;
 * everything else in a foreign file is reported by its id.
 */
export const GGML_TYPES = {
  F32: { id: 0, blockSize: 1, blockBytes: 4 },
  F16: { id: 1, blockSize: 1, blockBytes: 2 },
  Q4_0: { id: 2, blockSize: 32, blockBytes: 18 },
  Q5_0: { id: 6, blockSize: 32, blockBytes: 22 },
  Q5_1: { id: 7, blockSize: 32, blockBytes: 24 },
  Q8_0: { id: 8, blockSize: 32, blockBytes: 34 },
  Q4_K: { id: 12, blockSize: 256, blockBytes: 144 },
  Q5_K: { id: 13, blockSize: 256, blockBytes: 176 },
  Q6_K: { id: 14, blockSize: 256, blockBytes: 210 },
  BF16: { id: 30, blockSize: 1, blockBytes: 2 },
} as const;

export type GgmlType = keyof typeof GGML_TYPES;

const BY_ID = new Map<number, GgmlType>(
  Object.entries(GGML_TYPES).map(([name, info]) => [info.id, name as GgmlType]),
);

export function ggmlTypeOfId(id: number): GgmlType | undefined {
  return BY_ID.get(id);
}

export function isQuantized(type: GgmlType): boolean {
  return GGML_TYPES[type].blockSize > 1;
}

/** Bytes of one row of `columns` elements; the columns must fill whole blocks. */
export function rowBytes(type: GgmlType, columns: number): number {
  const { blockSize, blockBytes } = GGML_TYPES[type];
  if (columns % blockSize !== 0) {
    throw new RangeError(`a row of ${columns} values does not fill whole ${type} blocks of ${blockSize}`);
  }
  return (columns / blockSize) * blockBytes;
}

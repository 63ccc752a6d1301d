/**
 * GGUF v3, the file format of llama.cpp (ggml's docs/gguf.md; gguf-py's constants.py): "GGUF", version, tensor
 * count, metadata count (u64s), then metadata as key → typed value, then a table of tensors (name, dimensions
 * innermost first, ggml type, data offset), then the tensor data, each tensor aligned to general.alignment (32
 * unless the file says otherwise). Everything little-endian; strings are a u64 byte length and UTF-8 bytes.
 */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_QNT_VERSION, which llama.cpp's quantizer records as general.quantization_version. */
export const GGML_QUANTIZATION_VERSION = 2;

/** Metadata value types, by their ids in the file. */
export const GGUF_VALUE_TYPES = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

export type GgufScalarKind = Exclude<keyof typeof GGUF_VALUE_TYPES, 'array'>;

export type GgufValue =
  | { kind: Exclude<GgufScalarKind, 'string' | 'bool'>; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'string'; value: string }
  | { kind: 'array'; of: Exclude<GgufScalarKind, 'string' | 'bool'>; values: ArrayLike<number> }
  | { kind: 'array'; of: 'string'; values: string[] }
  | { kind: 'array'; of: 'bool'; values: boolean[] };

export const u32 = (value: number): GgufValue => ({ kind: 'uint32', value });
export const f32 = (value: number): GgufValue => ({ kind: 'float32', value });
export const str = (value: string): GgufValue => ({ kind: 'string', value });
export const bool = (value: boolean): GgufValue => ({ kind: 'bool', value });
export const strings = (values: string[]): GgufValue => ({ kind: 'array', of: 'string', values });
export const float32s = (values: ArrayLike<number>): GgufValue => ({ kind: 'array', of: 'float32', values });
export const int32s = (values: ArrayLike<number>): GgufValue => ({ kind: 'array', of: 'int32', values });

/** Bytes per element of each fixed-size kind. */
export const SCALAR_BYTES: Record<Exclude<GgufScalarKind, 'string'>, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};

export function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

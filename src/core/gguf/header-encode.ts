/** A GGUF header (everything before the tensor data) as bytes. */
import { ModelFileError } from '../io/errors';
import { GGML_TYPES, type GgmlType } from '../quant/ggml-types';
import { GGUF_MAGIC, GGUF_VALUE_TYPES, GGUF_VERSION, type GgufValue, SCALAR_BYTES } from './format';

export interface GgufTensorEntry {
  name: string;
  /** ggml order: innermost (row length) first, i.e. a PyTorch [rows, cols] weight is [cols, rows]. */
  dims: number[];
  type: GgmlType;
  /** Offset of the tensor's data from the start of the data section. */
  offset: number;
}

const utf8 = new TextEncoder();

class ByteWriter {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(bytes: number): number {
    if (this.length + bytes > this.buffer.byteLength) {
      const grown = new Uint8Array(Math.max(this.length + bytes, this.buffer.byteLength * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += bytes;
    return at;
  }

  u32(value: number) {
    this.view.setUint32(this.reserve(4), value, true);
  }

  u64(value: number) {
    this.view.setBigUint64(this.reserve(8), BigInt(value), true);
  }

  string(value: string) {
    const bytes = utf8.encode(value);
    this.u64(bytes.byteLength);
    this.buffer.set(bytes, this.reserve(bytes.byteLength));
  }

  scalar(kind: keyof typeof SCALAR_BYTES, value: number | boolean) {
    const at = this.reserve(SCALAR_BYTES[kind]);
    const v = this.view;
    const n = Number(value);
    switch (kind) {
      case 'uint8':
      case 'bool':
        return v.setUint8(at, n);
      case 'int8':
        return v.setInt8(at, n);
      case 'uint16':
        return v.setUint16(at, n, true);
      case 'int16':
        return v.setInt16(at, n, true);
      case 'uint32':
        return v.setUint32(at, n, true);
      case 'int32':
        return v.setInt32(at, n, true);
      case 'float32':
        return v.setFloat32(at, n, true);
      case 'uint64':
        return v.setBigUint64(at, BigInt(n), true);
      case 'int64':
        return v.setBigInt64(at, BigInt(n), true);
      case 'float64':
        return v.setFloat64(at, n, true);
    }
  }

  value(value: GgufValue) {
    this.u32(GGUF_VALUE_TYPES[value.kind]);
    if (value.kind === 'string') return this.string(value.value);
    if (value.kind !== 'array') return this.scalar(value.kind, value.value);
    this.u32(GGUF_VALUE_TYPES[value.of]);
    this.u64(value.values.length);
    for (let i = 0; i < value.values.length; i++) {
      const item = value.values[i];
      if (value.of === 'string') this.string(item as string);
      else this.scalar(value.of, item as number | boolean);
    }
  }

  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** The header bytes, zero-padded to `alignment` so that the data section can follow directly. */
export function encodeGgufHeader(
  metadata: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: GgufTensorEntry[],
  alignment: number,
): Uint8Array {
  const out = new ByteWriter();
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(tensors.length);
  out.u64(metadata.length);
  const keys = new Set<string>();
  for (const [key, value] of metadata) {
    if (keys.has(key)) throw new ModelFileError('bad-write', `GGUF metadata key ${key} is written twice`);
    keys.add(key);
    out.string(key);
    out.value(value);
  }
  for (const tensor of tensors) {
    if (tensor.offset % alignment !== 0) {
      throw new ModelFileError('bad-write', `tensor ${tensor.name}: offset ${tensor.offset} is not aligned`);
    }
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(GGML_TYPES[tensor.type].id);
    out.u64(tensor.offset);
  }
  const padded = new Uint8Array(Math.ceil(out.length / alignment) * alignment);
  padded.set(out.bytes());
  return padded;
}

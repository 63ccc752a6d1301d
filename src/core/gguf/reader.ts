/**
 * Reads a GGUF file's header (metadata and tensor table) from a ByteSource without reading its tensor data, and
 * single tensors as float32 (dequantized with ggml's rules). Used to verify what the writer wrote and to evaluate
 * a GGUF with this tool's own forward. Every count and length is checked against the file before it is trusted.
 */
import type { ByteSource } from '../io/bytes';
import { ModelFileError } from '../io/errors';
import { GGML_TYPES, type GgmlType, ggmlTypeOfId, rowBytes } from '../quant/ggml-types';
import { dequantizeRows } from '../quant/rows';
import {
  alignUp,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPES,
  type GgufScalarKind,
  type GgufValue,
  SCALAR_BYTES,
} from './format';

export interface GgufTensorInfo {
  name: string;
  /** ggml order, innermost first. */
  dims: number[];
  /** Undefined for ggml types this tool does not know (typeId says which). */
  type?: GgmlType;
  typeId: number;
  /** Offset from the start of the data section, as the file states it. */
  offset: number;
  /** Absolute byte range in the file. */
  byteStart: number;
  byteLength: number;
}

export interface GgufFile {
  source: ByteSource;
  version: number;
  alignment: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Absolute offset of the data section. */
  dataStart: number;
}

const KINDS = new Map<number, keyof typeof GGUF_VALUE_TYPES>(
  Object.entries(GGUF_VALUE_TYPES).map(([kind, id]) => [id, kind as keyof typeof GGUF_VALUE_TYPES]),
);
const WINDOW = 1 << 20;
const MAX_ENTRIES = 1 << 24;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Sequential reads through a window of the source. */
class Cursor {
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;
  position = 0;

  constructor(private readonly source: ByteSource) {}

  fail(why: string): never {
    throw new ModelFileError('bad-header', `${this.source.name} is not a valid GGUF file: ${why}`, {
      file: this.source.name,
    });
  }

  private async take(bytes: number): Promise<DataView> {
    if (this.position + bytes > this.source.size) {
      throw new ModelFileError(
        'truncated',
        `${this.source.name} ends inside its GGUF header (at byte ${this.source.size}): the file is incomplete`,
        { file: this.source.name },
      );
    }
    const offsetInWindow = this.position - this.windowStart;
    if (offsetInWindow < 0 || offsetInWindow + bytes > this.window.byteLength) {
      const length = Math.min(this.source.size - this.position, Math.max(bytes, WINDOW));
      this.window = await this.source.read(this.position, length);
      this.windowStart = this.position;
    }
    const at = this.position - this.windowStart;
    this.position += bytes;
    return new DataView(this.window.buffer, this.window.byteOffset + at, bytes);
  }

  async u32() {
    return (await this.take(4)).getUint32(0, true);
  }

  async u64(what: string, max = Number.MAX_SAFE_INTEGER) {
    const value = (await this.take(8)).getBigUint64(0, true);
    if (value > BigInt(max)) this.fail(`${what} is ${value}`);
    return Number(value);
  }

  async string(what: string) {
    const length = await this.u64(`the length of ${what}`, this.source.size - this.position);
    const view = await this.take(length);
    try {
      return utf8.decode(new Uint8Array(view.buffer, view.byteOffset, length));
    } catch {
      return this.fail(`${what} is not UTF-8`);
    }
  }

  async scalar(kind: Exclude<GgufScalarKind, 'string'>): Promise<number | boolean> {
    const v = await this.take(SCALAR_BYTES[kind]);
    switch (kind) {
      case 'uint8':
        return v.getUint8(0);
      case 'int8':
        return v.getInt8(0);
      case 'bool':
        return v.getUint8(0) !== 0;
      case 'uint16':
        return v.getUint16(0, true);
      case 'int16':
        return v.getInt16(0, true);
      case 'uint32':
        return v.getUint32(0, true);
      case 'int32':
        return v.getInt32(0, true);
      case 'float32':
        return v.getFloat32(0, true);
      case 'uint64':
        return Number(v.getBigUint64(0, true));
      case 'int64':
        return Number(v.getBigInt64(0, true));
      case 'float64':
        return v.getFloat64(0, true);
    }
  }

  async value(key: string): Promise<GgufValue> {
    const kind = KINDS.get(await this.u32());
    if (!kind) this.fail(`metadata ${key} has an unknown value type`);
    if (kind === 'string') return { kind, value: await this.string(`metadata ${key}`) };
    if (kind !== 'array') {
      const value = await this.scalar(kind);
      return kind === 'bool' ? { kind, value: value as boolean } : { kind, value: value as number };
    }
    const of = KINDS.get(await this.u32());
    if (!of || of === 'array') this.fail(`metadata ${key} is an array of an unsupported type`);
    const count = await this.u64(`the length of ${key}`, this.source.size - this.position);
    if (of === 'string') {
      const values: string[] = [];
      for (let i = 0; i < count; i++) values.push(await this.string(`${key}[${i}]`));
      return { kind, of, values };
    }
    const values: (number | boolean)[] = [];
    for (let i = 0; i < count; i++) values.push(await this.scalar(of));
    return of === 'bool'
      ? { kind, of, values: values as boolean[] }
      : { kind, of, values: Float64Array.from(values as number[]) };
  }
}

export async function readGgufHeader(source: ByteSource): Promise<GgufFile> {
  const cursor = new Cursor(source);
  if (source.size < 24 || (await cursor.u32()) !== GGUF_MAGIC) {
    throw new ModelFileError(
      'bad-header',
      `${source.name} is not a GGUF file (it does not start with "GGUF")`,
      {
        file: source.name,
      },
    );
  }
  const version = await cursor.u32();
  if (version !== 2 && version !== 3) cursor.fail(`version ${version} (this tool reads versions 2 and 3)`);
  const tensorCount = await cursor.u64('the tensor count', MAX_ENTRIES);
  const metadataCount = await cursor.u64('the metadata count', MAX_ENTRIES);
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < metadataCount; i++) {
    const key = await cursor.string(`metadata key ${i}`);
    if (metadata.has(key)) cursor.fail(`metadata key ${key} appears twice`);
    metadata.set(key, await cursor.value(key));
  }
  const alignmentValue = metadata.get('general.alignment');
  const alignment =
    alignmentValue && alignmentValue.kind === 'uint32' ? alignmentValue.value : GGUF_DEFAULT_ALIGNMENT;
  if (!(alignment > 0 && (alignment & (alignment - 1)) === 0))
    cursor.fail(`general.alignment is ${alignment}`);
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = await cursor.string(`tensor name ${i}`);
    const rank = await cursor.u32();
    if (rank < 1 || rank > 4) cursor.fail(`tensor ${name} has ${rank} dimensions`);
    const dims: number[] = [];
    for (let d = 0; d < rank; d++) dims.push(await cursor.u64(`a dimension of ${name}`, 2 ** 40));
    const typeId = await cursor.u32();
    const offset = await cursor.u64(`the offset of ${name}`);
    if (offset % alignment !== 0) cursor.fail(`tensor ${name}'s data offset ${offset} is not aligned`);
    const type = ggmlTypeOfId(typeId);
    const byteLength = type ? tensorBytes(type, dims, name, cursor) : 0;
    tensors.push({ name, dims, type, typeId, offset, byteStart: 0, byteLength });
  }
  const dataStart = alignUp(cursor.position, alignment);
  for (const tensor of tensors) {
    tensor.byteStart = dataStart + tensor.offset;
    if (tensor.byteStart + tensor.byteLength > source.size) {
      throw new ModelFileError(
        'truncated',
        `${source.name} ends before the data of tensor ${tensor.name}: the file is incomplete`,
        { file: source.name, tensor: tensor.name },
      );
    }
  }
  return { source, version, alignment, metadata, tensors, dataStart };
}

function tensorBytes(type: GgmlType, dims: number[], name: string, cursor: Cursor): number {
  if (dims[0] % GGML_TYPES[type].blockSize !== 0) {
    cursor.fail(`tensor ${name}'s rows of ${dims[0]} do not fill whole ${type} blocks`);
  }
  return rowBytes(type, dims[0]) * dims.slice(1).reduce((a, b) => a * b, 1);
}

/** One tensor's values as float32, row-major with the innermost dimension contiguous. */
/** The tensor's values (dequantized), or only rows [start, end) of it seen as rows of dims[0] values. */
export async function readGgufTensor(
  file: GgufFile,
  tensor: GgufTensorInfo,
  rows?: { start: number; end: number },
): Promise<Float32Array> {
  if (!tensor.type) {
    throw new ModelFileError(
      'unsupported-dtype',
      `tensor ${tensor.name} of ${file.source.name} has ggml type ${tensor.typeId}, which this tool cannot read`,
      { file: file.source.name, tensor: tensor.name },
    );
  }
  if (rows) {
    const rowBytes = tensor.byteLength / (tensor.dims.reduce((a, b) => a * b, 1) / tensor.dims[0]);
    const bytes = await file.source.read(
      tensor.byteStart + rows.start * rowBytes,
      (rows.end - rows.start) * rowBytes,
    );
    return dequantizeRows(tensor.type, bytes, (rows.end - rows.start) * tensor.dims[0]);
  }
  const count = tensor.dims.reduce((a, b) => a * b, 1);
  const bytes = await file.source.read(tensor.byteStart, tensor.byteLength);
  return dequantizeRows(tensor.type, bytes, count);
}

/** A metadata value of the expected kind, or a clear error. */
export function metadataValue<K extends GgufValue['kind']>(
  file: GgufFile,
  key: string,
  kind: K,
): (GgufValue & { kind: K }) | undefined {
  const value = file.metadata.get(key);
  if (value === undefined) return undefined;
  if (value.kind !== kind) {
    throw new ModelFileError(
      'bad-header',
      `${file.source.name}: metadata ${key} is a ${value.kind}, not a ${kind}`,
      {
        file: file.source.name,
      },
    );
  }
  return value as GgufValue & { kind: K };
}

/**
 * Hand-built safetensors bytes for tests, independent of the project's writer: an 8-byte little-endian header
 * length, the header text as given, then the data bytes.
 */

export interface FixtureTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** Raw file bytes from a header (object or exact text) and a data section. */
export function rawSafetensors(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  headerLength?: number,
): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

/** A valid file: tensors laid out in the given order, header keys in the given order. */
export function validSafetensors(
  tensors: Record<string, FixtureTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    parts.push(t.data);
    offset += t.data.byteLength;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const part of parts) {
    data.set(part, at);
    at += part.byteLength;
  }
  return rawSafetensors(header, data);
}

export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

/** Reads little-endian float32 values with DataView, the slow obvious way. */
export function readF32(bytes: Uint8Array, byteOffset: number, count: number): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: count }, (_, i) => view.getFloat32(byteOffset + i * 4, true));
}

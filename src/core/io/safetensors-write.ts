/**
 * Writes a new safetensors file from tensors in memory (a single layer's weights, test fixtures, small exports).
 * Whole models go through createCheckpointWriter instead, which streams.
 */
import type { ByteSink } from './bytes';
import { encodeHeader } from './checkpoint-writer';
import { DTYPE_BITS, type Dtype, encodeFloats, isFloatDtype } from './dtype';
import { ModelFileError } from './errors';
import { elementCount, type SafetensorsHeader, type TensorInfo } from './safetensors-header';

export interface TensorToWrite {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** float32 values (converted to `dtype`) or raw little-endian bytes already in `dtype`. */
  data: Float32Array | Uint8Array;
}

function tensorBytes(tensor: TensorToWrite): Uint8Array {
  const { name, dtype, shape, data } = tensor;
  const bits = elementCount(shape) * DTYPE_BITS[dtype];
  if (data instanceof Uint8Array) {
    if (bits % 8 !== 0 || data.byteLength !== bits / 8) {
      throw new ModelFileError(
        'bad-write',
        `tensor ${name}: ${data.byteLength} bytes do not fill [${shape}] of ${dtype}`,
        {
          tensor: name,
        },
      );
    }
    return data;
  }
  if (!isFloatDtype(dtype) || data.length !== elementCount(shape)) {
    throw new ModelFileError(
      'bad-write',
      `tensor ${name}: ${data.length} float32 values cannot be stored as [${shape}] of ${dtype}`,
      { tensor: name },
    );
  }
  return encodeFloats(data, dtype);
}

/** The file's bytes, laid out like the reference writer: by dtype size (largest first), then by name. */
export function encodeSafetensors(
  tensors: TensorToWrite[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name) || t.name === '__metadata__') {
      throw new ModelFileError('bad-write', `tensor name ${t.name} is used twice or reserved`, {
        tensor: t.name,
      });
    }
    names.add(t.name);
  }
  const ordered = [...tensors].sort(
    (a, b) => DTYPE_BITS[b.dtype] - DTYPE_BITS[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const blobs = ordered.map(tensorBytes);
  let offset = 0;
  const infos: TensorInfo[] = ordered.map((t, i) => {
    const info = {
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      file: '',
      byteStart: offset,
      byteEnd: offset + blobs[i].byteLength,
    };
    offset += blobs[i].byteLength;
    return info;
  });
  const layout: SafetensorsHeader = {
    file: '',
    fileSize: offset,
    dataStart: 0,
    tensors: infos,
    metadata: {},
  };
  const header = encodeHeader(layout, metadata);
  const bytes = new Uint8Array(header.byteLength + offset);
  bytes.set(header);
  infos.forEach((info, i) => {
    bytes.set(blobs[i], header.byteLength + info.byteStart);
  });
  return bytes;
}

export async function writeSafetensors(
  sink: ByteSink,
  tensors: TensorToWrite[],
  metadata: Record<string, string> = {},
): Promise<void> {
  try {
    await sink.write(encodeSafetensors(tensors, metadata));
  } catch (error) {
    await sink.abort(error);
    throw error;
  }
  await sink.close();
}

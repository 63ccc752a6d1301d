/** Reading one tensor, or a range of its rows, from a safetensors file: chunked, converted to float32 on the way. */
import { type ByteSource, CHUNK_BYTES } from './bytes';
import { decodeFloats, dtypeBytes, isFloatDtype } from './dtype';
import { ModelFileError } from './errors';
import { elementCount, type TensorInfo } from './safetensors-header';

/** Rows [start, end) along the first dimension; a row of a 1-D tensor is one element. */
export interface RowRange {
  start: number;
  end: number;
}

/** Elements per row: everything but the first dimension. */
export function rowElements(tensor: TensorInfo): number {
  return tensor.shape.length <= 1 ? 1 : elementCount(tensor.shape.slice(1));
}

export function rowCount(tensor: TensorInfo): number {
  return tensor.shape.length === 0 ? 1 : tensor.shape[0];
}

function checkRows(tensor: TensorInfo, rows: RowRange): void {
  const total = rowCount(tensor);
  const { start, end } = rows;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > total) {
    throw new RangeError(`rows ${start}–${end} are outside tensor ${tensor.name}, which has ${total} rows`);
  }
}

export async function readTensorFloat32(
  source: ByteSource,
  tensor: TensorInfo,
  rows?: RowRange,
  chunkBytes = CHUNK_BYTES,
): Promise<Float32Array> {
  const { dtype } = tensor;
  if (!isFloatDtype(dtype)) {
    throw new ModelFileError(
      'unsupported-dtype',
      `tensor ${tensor.name} in ${tensor.file} is ${dtype}; only F32, F16, BF16 and F64 tensors can be read as numbers`,
      { file: tensor.file, tensor: tensor.name },
    );
  }
  const size = dtypeBytes(dtype);
  const range = rows ?? { start: 0, end: rowCount(tensor) };
  checkRows(tensor, range);
  const perRow = rowElements(tensor);
  const count = (range.end - range.start) * perRow;
  const out = new Float32Array(count);
  const byteStart = tensor.byteStart + range.start * perRow * size;
  const chunkElements = Math.max(1, Math.floor(chunkBytes / size));
  for (let done = 0; done < count; done += chunkElements) {
    const n = Math.min(chunkElements, count - done);
    decodeFloats(await source.read(byteStart + done * size, n * size), dtype, out, done);
  }
  return out;
}

/** The tensor's raw bytes in CHUNK_BYTES pieces, for copying without holding a whole tensor. */
export async function* tensorByteChunks(
  source: ByteSource,
  tensor: TensorInfo,
  chunkBytes = CHUNK_BYTES,
): AsyncGenerator<Uint8Array> {
  for (let offset = tensor.byteStart; offset < tensor.byteEnd; offset += chunkBytes) {
    yield await source.read(offset, Math.min(chunkBytes, tensor.byteEnd - offset));
  }
}

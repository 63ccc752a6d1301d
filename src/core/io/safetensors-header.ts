/**
 * safetensors header parsing with the reference implementation's checks (huggingface/safetensors, tensor.rs):
 * an 8-byte little-endian length capped at 100 MB, a UTF-8 JSON object, known dtypes, whole non-negative shapes,
 * data_offsets that tile the data section exactly (no overlap, no gap, nothing after the last tensor), and
 * shape × dtype size equal to each range. Nothing is allocated from a size the header claims before that size has
 * been checked against the real file size.
 */

import { formatFileSize } from '../format-bytes';
import type { ByteSource } from './bytes';
import { DTYPE_BITS, type Dtype, isDtype, KNOWN_DTYPES } from './dtype';
import { ModelFileError } from './errors';
import { describeForeignFile } from './sniff';

export const MAX_HEADER_BYTES = 100_000_000;

/**
 * Tensors one checkpoint may list (all its files together). The largest released mixture-of-experts checkpoints
 * list about 100,000; a header listing more is damaged or hostile, and refusing it keeps every later step (the
 * writer, the verifier, the UI's tables) bounded.
 */
export const MAX_TENSORS = 500_000;

/** One tensor of one safetensors file. Byte positions are absolute in the file; end is exclusive. */
export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Path of the file inside the model folder. */
  file: string;
  byteStart: number;
  byteEnd: number;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  /** 8 + header length: where data_offsets count from. */
  dataStart: number;
  /** In data order (by offset), as the file lays them out. */
  tensors: TensorInfo[];
  /** The string → string `__metadata__` map, empty when absent. */
  metadata: Record<string, string>;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((count, dim) => count * dim, 1);
}

export function tensorByteLength(tensor: Pick<TensorInfo, 'byteStart' | 'byteEnd'>): number {
  return tensor.byteEnd - tensor.byteStart;
}

/** Reads and validates the header of a safetensors file. */
export async function readSafetensorsHeader(source: ByteSource): Promise<SafetensorsHeader> {
  const file = source.name;
  if (source.size === 0) {
    throw new ModelFileError(
      'empty-file',
      `${file} is empty (0 bytes): the download or copy did not finish`,
      { file },
    );
  }
  const start = await source.read(0, Math.min(source.size, 16));
  if (source.size < 8) {
    throw new ModelFileError(
      'truncated',
      `${file} is only ${source.size} bytes long: too short to be a safetensors file`,
      { file },
    );
  }
  const view = new DataView(start.buffer, start.byteOffset, start.byteLength);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const foreign = () => {
    const what = describeForeignFile(start);
    return (
      what &&
      new ModelFileError('not-safetensors', `${file} is not a safetensors file: it looks like ${what}`, {
        file,
      })
    );
  };
  if (high !== 0 || low > MAX_HEADER_BYTES) {
    throw (
      foreign() ??
      new ModelFileError(
        'header-too-large',
        `${file} is not a valid safetensors file: its header claims ${formatFileSize(high * 2 ** 32 + low)}, ` +
          `more than the ${formatFileSize(MAX_HEADER_BYTES)} limit`,
        { file },
      )
    );
  }
  const headerLength = low;
  if (8 + headerLength > source.size) {
    throw (
      foreign() ??
      new ModelFileError(
        'truncated',
        `${file} is truncated: its header needs bytes 8–${8 + headerLength} but the file ends at byte ${source.size}`,
        { file },
      )
    );
  }
  if (headerLength < 2 || start[8] !== 0x7b) {
    throw (
      foreign() ??
      new ModelFileError(
        'bad-header',
        `${file} is not a safetensors file: its header does not start with "{"`,
        {
          file,
        },
      )
    );
  }
  const headerBytes = await source.read(8, headerLength);
  return parseSafetensorsHeader(headerBytes, source.size, file);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Validates header bytes (the JSON after the 8-byte length) of a file of `fileSize` bytes. */
export function parseSafetensorsHeader(
  headerBytes: Uint8Array,
  fileSize: number,
  file: string,
): SafetensorsHeader {
  const dataStart = 8 + headerBytes.byteLength;
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch {
    throw new ModelFileError('bad-header', `${file} is corrupted: its header is not valid UTF-8 text`, {
      file,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModelFileError(
      'bad-header',
      `${file} is corrupted: its header is not valid JSON (${cause instanceof Error ? cause.message : cause})`,
      { file, cause },
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFileError('bad-header', `${file} is corrupted: its header is not a JSON object`, { file });
  }
  let metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  const entries = Object.entries(json);
  checkTensorCount(entries.length - ('__metadata__' in json ? 1 : 0), file);
  for (const [name, value] of entries) {
    if (name === '__metadata__') metadata = parseMetadata(value, file);
    else tensors.push(parseTensorEntry(name, value, file, dataStart));
  }
  tensors.sort((a, b) => a.byteStart - b.byteStart || a.byteEnd - b.byteEnd);
  checkLayout(tensors, file, dataStart, fileSize);
  return { file, fileSize, dataStart, tensors, metadata };
}

/** Throws past MAX_TENSORS, naming the count; `where` is the file or the index that lists them. */
export function checkTensorCount(count: number, where: string): void {
  if (count > MAX_TENSORS) {
    throw new ModelFileError(
      'too-many-tensors',
      `${where} lists ${count.toLocaleString('en-US')} tensors, more than the ${MAX_TENSORS.toLocaleString('en-US')} ` +
        'this tool reads (the largest released models have about 100,000): the file is damaged or not a model checkpoint',
      { file: where },
    );
  }
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelFileError('bad-metadata', `${file}: __metadata__ must be a JSON object of strings`, {
      file,
    });
  }
  const metadata: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new ModelFileError(
        'bad-metadata',
        `${file}: __metadata__ value of "${key}" is ${JSON.stringify(entry)?.slice(0, 40)}; safetensors allows only strings`,
        { file },
      );
    }
    metadata[key] = entry;
  }
  return metadata;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseTensorEntry(name: string, value: unknown, file: string, dataStart: number): TensorInfo {
  const where = { file, tensor: name };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelFileError(
      'bad-header',
      `${file} is corrupted: the entry for tensor ${name} is not an object`,
      where,
    );
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isDtype(dtype)) {
    throw new ModelFileError(
      'unknown-dtype',
      `${file}: tensor ${name} has dtype ${JSON.stringify(dtype)?.slice(0, 40)}, which safetensors does not define ` +
        `(known: ${KNOWN_DTYPES.join(', ')})`,
      where,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new ModelFileError(
      'bad-shape',
      `${file}: tensor ${name} has shape ${JSON.stringify(shape)?.slice(0, 60)}; a shape is a list of whole numbers ≥ 0`,
      where,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new ModelFileError(
      'bad-offsets',
      `${file}: tensor ${name} has data_offsets ${JSON.stringify(offsets)?.slice(0, 60)}; ` +
        'expected [begin, end] with whole numbers 0 ≤ begin ≤ end',
      where,
    );
  }
  const [begin, end] = offsets as number[];
  return {
    name,
    dtype,
    shape: shape as number[],
    file,
    byteStart: dataStart + begin,
    byteEnd: dataStart + end,
  };
}

function checkLayout(tensors: TensorInfo[], file: string, dataStart: number, fileSize: number): void {
  let expected = dataStart;
  let previous: TensorInfo | undefined;
  for (const tensor of tensors) {
    const where = { file, tensor: tensor.name };
    if (tensor.byteStart < expected) {
      throw new ModelFileError(
        'overlap',
        `${file} is corrupted: tensor ${tensor.name} (data bytes ${tensor.byteStart - dataStart}–` +
          `${tensor.byteEnd - dataStart}) overlaps tensor ${previous?.name} (which ends at ${expected - dataStart})`,
        where,
      );
    }
    if (tensor.byteStart > expected) {
      throw new ModelFileError(
        'gap',
        `${file} is corrupted: data bytes ${expected - dataStart}–${tensor.byteStart - dataStart} before tensor ` +
          `${tensor.name} belong to no tensor`,
        where,
      );
    }
    checkTensorSize(tensor, file);
    expected = tensor.byteEnd;
    previous = tensor;
  }
  if (expected > fileSize) {
    const first = tensors.find((t) => t.byteEnd > fileSize) as TensorInfo;
    throw new ModelFileError(
      'truncated',
      `${file} is truncated: tensor ${first.name} needs bytes ${first.byteStart}–${first.byteEnd} but the file ends ` +
        `at byte ${fileSize} (${formatFileSize(expected - fileSize)} missing; was the download interrupted?)`,
      { file, tensor: first.name },
    );
  }
  if (expected < fileSize) {
    throw new ModelFileError(
      'trailing-bytes',
      `${file} is corrupted: it has ${formatFileSize(fileSize - expected)} after its last tensor that the header does ` +
        'not describe',
      { file },
    );
  }
}

function checkTensorSize(tensor: TensorInfo, file: string): void {
  const where = { file, tensor: tensor.name };
  const elements = elementCount(tensor.shape);
  const bits = elements * DTYPE_BITS[tensor.dtype];
  if (!Number.isSafeInteger(bits)) {
    throw new ModelFileError(
      'bad-shape',
      `${file}: tensor ${tensor.name} has shape [${tensor.shape.join(', ')}], more elements than any file can hold`,
      where,
    );
  }
  const length = tensor.byteEnd - tensor.byteStart;
  if (bits % 8 !== 0 || bits / 8 !== length) {
    const needed = bits % 8 === 0 ? `${bits / 8} bytes` : `${bits} bits (not a whole number of bytes)`;
    throw new ModelFileError(
      'size-mismatch',
      `${file}: tensor ${tensor.name} has shape [${tensor.shape.join(', ')}] of ${tensor.dtype}, which needs ` +
        `${needed}, but its data_offsets span ${length} bytes`,
      where,
    );
  }
}

/**
 * Streams a GGUF file into a ByteSink: the header first (every tensor's size is known from its type and shape, so
 * the offsets are too), then each tensor's bytes as its producer yields them, padded to the alignment. Only the
 * piece being written is in memory. On any failure, or when the signal asks to stop, the sink is aborted, so no
 * partial file is left behind.
 */
import type { ByteSink } from '../io/bytes';
import { ModelFileError } from '../io/errors';
import { CancelledError } from '../pipeline/types';
import { type GgmlType, rowBytes } from '../quant/ggml-types';
import { alignUp, GGUF_DEFAULT_ALIGNMENT, type GgufValue, u32 } from './format';
import { encodeGgufHeader, type GgufTensorEntry } from './header-encode';

export interface TensorToStream {
  name: string;
  /** ggml order, innermost first. */
  dims: number[];
  type: GgmlType;
  /** The tensor's bytes in order, in pieces of any size. */
  bytes(): AsyncIterable<Uint8Array>;
}

export interface GgufLayout {
  metadata: Array<readonly [string, GgufValue]>;
  tensors: GgufTensorEntry[];
  alignment: number;
  headerBytes: number;
  fileBytes: number;
}

export function tensorByteLength(type: GgmlType, dims: number[]): number {
  return rowBytes(type, dims[0]) * dims.slice(1).reduce((a, b) => a * b, 1);
}

/** Offsets and sizes of everything, before a byte is written. */
export function layoutGguf(
  metadata: Array<readonly [string, GgufValue]>,
  tensors: ReadonlyArray<Pick<TensorToStream, 'name' | 'dims' | 'type'>>,
  alignment = GGUF_DEFAULT_ALIGNMENT,
): GgufLayout {
  const withAlignment: Array<readonly [string, GgufValue]> =
    alignment === GGUF_DEFAULT_ALIGNMENT ? metadata : [...metadata, ['general.alignment', u32(alignment)]];
  let offset = 0;
  const entries = tensors.map(({ name, dims, type }) => {
    const entry = { name, dims, type, offset };
    offset = alignUp(offset + tensorByteLength(type, dims), alignment);
    return entry;
  });
  const headerBytes = encodeGgufHeader(withAlignment, entries, alignment).byteLength;
  return {
    metadata: withAlignment,
    tensors: entries,
    alignment,
    headerBytes,
    fileBytes: headerBytes + offset,
  };
}

export async function writeGguf(
  sink: ByteSink,
  metadata: Array<readonly [string, GgufValue]>,
  tensors: TensorToStream[],
  options: { alignment?: number; onTensor?: (index: number) => void; signal?: AbortSignal } = {},
): Promise<GgufLayout> {
  try {
    const layout = layoutGguf(metadata, tensors, options.alignment);
    await sink.write(encodeGgufHeader(layout.metadata, layout.tensors, layout.alignment));
    for (const [index, tensor] of tensors.entries()) {
      const expected = tensorByteLength(tensor.type, tensor.dims);
      let written = 0;
      for await (const piece of tensor.bytes()) {
        // Stopping is checked between pieces: the sink is then aborted, so no partial file is left.
        if (options.signal?.aborted) throw new CancelledError();
        written += piece.byteLength;
        if (written > expected) break;
        await sink.write(piece);
      }
      if (written !== expected) {
        throw new ModelFileError(
          'bad-write',
          `tensor ${tensor.name}: produced ${written} bytes where ${tensor.type} [${tensor.dims}] takes ${expected}`,
          { tensor: tensor.name },
        );
      }
      const padding = alignUp(expected, layout.alignment) - expected;
      if (padding) await sink.write(new Uint8Array(padding));
      options.onTensor?.(index);
    }
    await sink.close();
    return layout;
  } catch (error) {
    await sink.abort(error);
    throw error;
  }
}

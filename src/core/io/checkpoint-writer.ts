/**
 * Writes a checkpoint with the input's exact layout (tensor names, order, dtypes, shapes, shards, index) where
 * some tensors are replaced, e.g. by their pruned versions. Headers are computed up front from the input layout,
 * so every tensor's place in the output is known before any data arrives: with seekable sinks (Node files, the File
 * System Access API, OPFS) tensors can be written in any order; with append-only sinks, in file order. Untouched
 * tensors are copied byte for byte in chunks; nothing model-sized is ever held in memory.
 */
import { type ByteSink, CHUNK_BYTES, copySourceToSink, type SinkFactory } from './bytes';
import type { Checkpoint } from './checkpoint';
import { dtypeBytes, encodeFloats, isFloatDtype } from './dtype';
import { ModelFileError } from './errors';
import { isModelSideFile } from './model-files';
import { elementCount, type SafetensorsHeader, type TensorInfo } from './safetensors-header';

export interface CheckpointWriterOptions {
  /** Added to every file's `__metadata__` over the input's own (values are strings, as safetensors requires). */
  metadata?: Record<string, string>;
  /**
   * Tensors the caller will replace. With append-only sinks a tensor written out of order copies the untouched
   * tensors before it; naming the replaced ones here turns skipping one of them into an immediate error.
   */
  replacing?: Iterable<string>;
  /**
   * Which other files of the folder to copy. Default: isModelSideFile, the files a model needs to be loaded and
   * shared (config, tokenizer, chat template, README, licence), never anything else the folder happens to hold.
   */
  copyFile?: (path: string) => boolean;
  chunkBytes?: number;
}

export interface WrittenCheckpoint {
  /** Every file written, with its size, in writing order. */
  files: { path: string; bytes: number }[];
  /** Files of the input folder that were not copied, and why. */
  skipped: { path: string; reason: string }[];
}

export interface CheckpointWriter {
  /** Names of the tensors not written yet, in file order. */
  pending(): string[];
  /**
   * Writes one tensor: float32 values (converted to the tensor's own dtype, rounding to nearest even), raw bytes
   * in the tensor's dtype, or nothing to copy the input's bytes unchanged.
   */
  writeTensor(name: string, data?: Float32Array | Uint8Array): Promise<void>;
  /** Copies every tensor not written yet, unchanged. */
  copyRemainingTensors(): Promise<void>;
  /** Copies what is left (tensors, index, other files), closes every sink and reports what was written. */
  finish(): Promise<WrittenCheckpoint>;
  /** Discards all output written so far. */
  abort(reason?: unknown): Promise<void>;
}

const STALE_WEIGHTS = /\.(safetensors|bin|pt|pth|ckpt|gguf|h5|keras|msgpack|onnx|npz)$/i;

/** `__metadata__` keys recording a pruning run, in the style of the "format": "pt" key. */
export function pruningMetadata(run: {
  method: string;
  sparsity: number;
  pattern: string;
  calibration: string;
  toolVersion: string;
  extra?: Record<string, string | number>;
}): Record<string, string> {
  const metadata: Record<string, string> = {
    'sparsegpt.method': run.method,
    'sparsegpt.sparsity': String(run.sparsity),
    'sparsegpt.pattern': run.pattern,
    'sparsegpt.calibration': run.calibration,
    'sparsegpt.tool_version': run.toolVersion,
  };
  for (const [key, value] of Object.entries(run.extra ?? {})) metadata[`sparsegpt.${key}`] = String(value);
  return metadata;
}

interface PlannedFile {
  input: SafetensorsHeader;
  header: Uint8Array;
  /** Output position of input byte `byteStart` of a tensor: shift = new data start − old data start. */
  shift: number;
  size: number;
  tensors: TensorInfo[];
  /** Tensors of this file not written yet: the file closes when it reaches 0. */
  remaining: number;
  /** Append-only sinks: tensors before this position are written (a cursor, so catching up stays linear). */
  cursor: number;
  sink?: ByteSink;
  opening?: Promise<ByteSink>;
  closed: boolean;
}

/** The header JSON with `metadata` merged in, padded with spaces to a multiple of 8 like the reference writer. */
export function encodeHeader(header: SafetensorsHeader, metadata: Record<string, string>): Uint8Array {
  const merged: Record<string, string> = { ...header.metadata, ...metadata };
  if (!('format' in merged)) merged.format = 'pt';
  const json: Record<string, unknown> = { __metadata__: merged };
  for (const t of header.tensors) {
    json[t.name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [t.byteStart - header.dataStart, t.byteEnd - header.dataStart],
    };
  }
  const text = JSON.stringify(json);
  const padded = text + ' '.repeat((8 - (new TextEncoder().encode(text).byteLength % 8)) % 8);
  const body = new TextEncoder().encode(padded);
  const bytes = new Uint8Array(8 + body.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(body.byteLength), true);
  bytes.set(body, 8);
  return bytes;
}

function checkMetadata(metadata: Record<string, string>): void {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new ModelFileError(
        'bad-write',
        `metadata "${key}" must be a string (safetensors allows only strings)`,
      );
    }
  }
}

export async function createCheckpointWriter(
  checkpoint: Checkpoint,
  sinkFor: SinkFactory,
  options: CheckpointWriterOptions = {},
): Promise<CheckpointWriter> {
  const metadata = options.metadata ?? {};
  checkMetadata(metadata);
  const chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
  const replacing = new Set(options.replacing ?? []);
  for (const name of replacing) checkpoint.tensor(name);
  const plans: PlannedFile[] = checkpoint.files.map((input) => {
    const header = encodeHeader(input, metadata);
    const dataBytes = input.fileSize - input.dataStart;
    return {
      input,
      header,
      shift: header.byteLength - input.dataStart,
      size: header.byteLength + dataBytes,
      tensors: input.tensors,
      remaining: input.tensors.length,
      cursor: 0,
      closed: false,
    };
  });
  const planOf = new Map<string, PlannedFile>();
  for (const plan of plans) for (const t of plan.tensors) planOf.set(t.name, plan);
  const written = new Set<string>();
  const opened: ByteSink[] = [];
  const report: WrittenCheckpoint = { files: [], skipped: [] };
  let state: 'open' | 'finished' | 'aborted' = 'open';

  const ensureOpen = () => {
    if (state !== 'open') throw new ModelFileError('bad-write', `the checkpoint writer is already ${state}`);
  };

  const open = async (plan: PlannedFile): Promise<ByteSink> => {
    if (plan.sink) return plan.sink;
    plan.opening ??= (async () => {
      const sink = await sinkFor(plan.input.file);
      opened.push(sink);
      if (sink.writeAt) await sink.writeAt(0, plan.header);
      else await sink.write(plan.header);
      plan.sink = sink;
      return sink;
    })();
    return plan.opening;
  };

  const put = async (sink: ByteSink, position: number, bytes: Uint8Array) => {
    if (sink.writeAt) await sink.writeAt(position, bytes);
    else await sink.write(bytes);
  };

  const closeIfComplete = async (plan: PlannedFile) => {
    if (plan.closed || plan.remaining > 0) return;
    const sink = await open(plan);
    await sink.close();
    plan.closed = true;
    report.files.push({ path: plan.input.file, bytes: plan.size });
  };

  const copyTensor = async (plan: PlannedFile, sink: ByteSink, tensor: TensorInfo) => {
    let position = tensor.byteStart + plan.shift;
    for await (const chunk of checkpoint.byteChunks(tensor.name, chunkBytes)) {
      await put(sink, position, chunk);
      position += chunk.byteLength;
    }
  };

  const writeValues = async (
    plan: PlannedFile,
    sink: ByteSink,
    tensor: TensorInfo,
    data: Float32Array | Uint8Array,
  ) => {
    const position = tensor.byteStart + plan.shift;
    const length = tensor.byteEnd - tensor.byteStart;
    if (data instanceof Uint8Array) {
      if (data.byteLength !== length) {
        throw new ModelFileError(
          'bad-write',
          `tensor ${tensor.name} takes ${length} bytes of ${tensor.dtype}; got ${data.byteLength}`,
          { tensor: tensor.name },
        );
      }
      for (let offset = 0; offset < length; offset += chunkBytes) {
        await put(sink, position + offset, data.subarray(offset, Math.min(length, offset + chunkBytes)));
      }
      return;
    }
    const { dtype } = tensor;
    if (!isFloatDtype(dtype)) {
      throw new ModelFileError(
        'bad-write',
        `tensor ${tensor.name} is ${dtype}: float32 values can only replace F32, F16, BF16 or F64 tensors`,
        { tensor: tensor.name },
      );
    }
    const count = elementCount(tensor.shape);
    if (data.length !== count) {
      throw new ModelFileError(
        'bad-write',
        `tensor ${tensor.name} has shape [${tensor.shape.join(', ')}] (${count} values); got ${data.length} values`,
        { tensor: tensor.name },
      );
    }
    const size = dtypeBytes(dtype);
    const step = Math.max(1, Math.floor(chunkBytes / size));
    for (let start = 0; start < count; start += step) {
      const piece = encodeFloats(data.subarray(start, Math.min(count, start + step)), dtype);
      await put(sink, position + start * size, piece);
    }
  };

  const markWritten = (plan: PlannedFile, name: string) => {
    written.add(name);
    plan.remaining--;
  };

  /** Append-only sinks: every earlier tensor of the same file, and every earlier file, must be done first. */
  const catchUp = async (target: TensorInfo) => {
    for (const plan of plans) {
      for (; plan.cursor < plan.tensors.length; plan.cursor++) {
        const tensor = plan.tensors[plan.cursor];
        if (tensor === target) return;
        if (written.has(tensor.name)) continue;
        if (replacing.has(tensor.name)) {
          throw new ModelFileError(
            'bad-write',
            `tensor ${target.name} was given before ${tensor.name}, which comes first in ${tensor.file}; ` +
              'this output can only be written in file order',
            { tensor: target.name },
          );
        }
        await copyTensor(plan, await open(plan), tensor);
        markWritten(plan, tensor.name);
      }
      await closeIfComplete(plan);
    }
  };

  const writeTensor = async (name: string, data?: Float32Array | Uint8Array) => {
    ensureOpen();
    const tensor = checkpoint.tensor(name);
    const plan = planOf.get(name) as PlannedFile;
    if (written.has(name)) {
      throw new ModelFileError('bad-write', `tensor ${name} was already written`, { tensor: name });
    }
    const sink = await open(plan);
    if (!sink.writeAt) await catchUp(tensor);
    if (data === undefined) await copyTensor(plan, sink, tensor);
    else await writeValues(plan, sink, tensor, data);
    markWritten(plan, name);
    await closeIfComplete(plan);
  };

  const copyRemainingTensors = async () => {
    for (const plan of plans) {
      for (const tensor of plan.tensors) if (!written.has(tensor.name)) await writeTensor(tensor.name);
    }
  };

  const copyOtherFiles = async () => {
    const own = new Set([...plans.map((p) => p.input.file), checkpoint.index?.file ?? '']);
    for (const [path, source] of checkpoint.folder.files) {
      if (own.has(path)) continue;
      const wanted = (options.copyFile ?? isModelSideFile)(path);
      if (!wanted) {
        report.skipped.push({
          path,
          reason: options.copyFile
            ? 'excluded'
            : STALE_WEIGHTS.test(path)
              ? 'weights in another file would be a stale, unpruned copy'
              : 'not a file a model needs (config, tokenizer, chat template, README, licence)',
        });
        continue;
      }
      const sink = await sinkFor(path);
      opened.push(sink);
      await copySourceToSink(source, sink, chunkBytes);
      report.files.push({ path, bytes: source.size });
    }
  };

  const writeIndex = async () => {
    const index = checkpoint.index;
    if (!index) return;
    const weightMap: Record<string, string> = { ...index.weightMap };
    for (const tensor of checkpoint.tensors) weightMap[tensor.name] = tensor.file;
    const totalSize = checkpoint.tensors.reduce((sum, t) => sum + (t.byteEnd - t.byteStart), 0);
    const json = { metadata: { ...index.metadata, total_size: totalSize }, weight_map: weightMap };
    const bytes = new TextEncoder().encode(`${JSON.stringify(json, null, 2)}\n`);
    const sink = await sinkFor(index.file);
    opened.push(sink);
    await sink.write(bytes);
    await sink.close();
    report.files.push({ path: index.file, bytes: bytes.byteLength });
  };

  const abort = async (reason?: unknown) => {
    if (state !== 'open') return;
    state = 'aborted';
    await Promise.allSettled(opened.map((sink) => sink.abort(reason)));
  };

  // One operation at a time: append-only sinks need it, and it keeps the bookkeeping simple.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(operation: () => Promise<T>): Promise<T> => {
    const result = queue.then(operation);
    queue = result.catch(() => undefined);
    return result;
  };

  return {
    pending: () => checkpoint.tensors.filter((t) => !written.has(t.name)).map((t) => t.name),
    writeTensor: (name, data) => serial(() => writeTensor(name, data)),
    copyRemainingTensors: () => serial(copyRemainingTensors),
    finish: () => serial(finish),
    abort,
  };

  async function finish(): Promise<WrittenCheckpoint> {
    ensureOpen();
    try {
      await copyRemainingTensors();
      await writeIndex();
      await copyOtherFiles();
    } catch (error) {
      await abort(error);
      throw error;
    }
    state = 'finished';
    return report;
  }
}

/**
 * A model's weights as one object over its folder: a single model.safetensors, or shards tied together by
 * model.safetensors.index.json. Tensors are listed in file order (shard by shard, by offset) and read lazily.
 */
import type { ByteSource } from './bytes';
import { ModelFileError } from './errors';
import { createModelFolder, isPlainObject, type ModelFolder, readJsonFile } from './folder';
import {
  checkTensorCount,
  readSafetensorsHeader,
  type SafetensorsHeader,
  type TensorInfo,
} from './safetensors-header';
import { type RowRange, readTensorFloat32, tensorByteChunks } from './tensor-read';

export interface CheckpointIndex {
  /** Path of the index file ("model.safetensors.index.json"). */
  file: string;
  /** The index's own "metadata" object (total_size …), kept as written. */
  metadata: Record<string, unknown>;
  /** Tensor name → shard path, in the index's order. */
  weightMap: Record<string, string>;
}

export interface Checkpoint {
  folder: ModelFolder;
  /** The safetensors files, in shard order. */
  files: SafetensorsHeader[];
  index?: CheckpointIndex;
  /** Every tensor, in file order. */
  tensors: TensorInfo[];
  /** `__metadata__` of the files, merged (shards normally carry the same). */
  metadata: Record<string, string>;
  /** Things that are odd but readable, for the UI and CLI to show. */
  warnings: string[];
  has(name: string): boolean;
  /** Throws a 'tensor-not-found' ModelFileError for unknown names. */
  tensor(name: string): TensorInfo;
  /** F32/F16/BF16/F64 tensors as float32; `rows` limits the read to rows [start, end) of the first dimension. */
  readFloat32(name: string, rows?: RowRange): Promise<Float32Array>;
  /** The raw bytes, for any dtype. */
  readBytes(name: string): Promise<Uint8Array>;
  /** The raw bytes in pieces of at most `chunkBytes`. */
  byteChunks(name: string, chunkBytes?: number): AsyncGenerator<Uint8Array>;
  source(file: string): ByteSource;
}

const WEIGHT_FORMATS: [RegExp, string][] = [
  [/\.(bin|pt|pth|ckpt)$/i, 'PyTorch'],
  [/\.gguf$/i, 'GGUF (llama.cpp)'],
  [/\.(h5|keras)$/i, 'TensorFlow/Keras'],
  [/\.msgpack$/i, 'Flax'],
  [/\.onnx$/i, 'ONNX'],
];

const CONVERT_HINT =
  'this tool reads safetensors only. Convert it with transformers: ' +
  "AutoModelForCausalLM.from_pretrained('FOLDER').save_pretrained('OUT', safe_serialization=True)";

export async function openCheckpoint(folder: ModelFolder): Promise<Checkpoint> {
  const rootFiles = [...folder.files.keys()].filter((path) => !path.includes('/'));
  const indexes = rootFiles.filter((path) => path.endsWith('.safetensors.index.json'));
  const indexFile = indexes.includes('model.safetensors.index.json')
    ? 'model.safetensors.index.json'
    : indexes[0];
  if (indexFile) return openSharded(folder, indexFile);
  const singles = rootFiles.filter((path) => path.endsWith('.safetensors'));
  const single = singles.includes('model.safetensors')
    ? 'model.safetensors'
    : singles.length === 1
      ? singles[0]
      : '';
  if (single) {
    const header = await readSafetensorsHeader(folder.files.get(single) as ByteSource);
    return buildCheckpoint(folder, [header], undefined, []);
  }
  if (singles.length > 1) {
    throw new ModelFileError(
      'missing-weights',
      `${folder.name} has several .safetensors files (${singles.join(', ')}) but no model.safetensors.index.json ` +
        'that says how they fit together',
    );
  }
  for (const [pattern, format] of WEIGHT_FORMATS) {
    const found = rootFiles.find((path) => pattern.test(path));
    if (found) {
      throw new ModelFileError(
        'unsupported-weights',
        `${folder.name} has ${format} weights (${found}) but no .safetensors file: ${CONVERT_HINT}`,
        { file: found },
      );
    }
  }
  throw new ModelFileError(
    'missing-weights',
    `${folder.name} has no model weights: expected model.safetensors, or shards with model.safetensors.index.json` +
      (rootFiles.length
        ? ` (found: ${rootFiles.slice(0, 8).join(', ')}${rootFiles.length > 8 ? ' …' : ''})`
        : ''),
  );
}

/** One loose .safetensors file (e.g. a single layer's weights) as a checkpoint. */
export function openSafetensorsFile(source: ByteSource): Promise<Checkpoint> {
  return openCheckpoint(createModelFolder(source.name, [[source.name, source]]));
}

async function openSharded(folder: ModelFolder, indexFile: string): Promise<Checkpoint> {
  const index = parseIndex(await readJsonFile(folder.files.get(indexFile) as ByteSource), indexFile);
  const byShard = new Map<string, string[]>();
  for (const [tensor, shard] of Object.entries(index.weightMap)) {
    const names = byShard.get(shard);
    if (names) names.push(tensor);
    else byShard.set(shard, [tensor]);
  }
  const shardNames = [...byShard.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const missing = shardNames.filter((shard) => !folder.files.has(shard));
  if (missing.length) {
    const first = byShard.get(missing[0]) as string[];
    throw new ModelFileError(
      'missing-shard',
      `${folder.name} is incomplete: ${indexFile} lists ${missing.join(', ')} (with ${first.length} tensors, e.g. ` +
        `${first[0]}) but the folder has no such file. Add the missing shard${missing.length > 1 ? 's' : ''}.`,
      { file: missing[0], tensor: first[0] },
    );
  }
  const headers: SafetensorsHeader[] = [];
  for (const shard of shardNames)
    headers.push(await readSafetensorsHeader(folder.files.get(shard) as ByteSource));
  const warnings: string[] = [];
  for (const header of headers) {
    const present = new Set(header.tensors.map((t) => t.name));
    for (const name of byShard.get(header.file) as string[]) {
      if (!present.has(name)) {
        throw new ModelFileError(
          'bad-index',
          `${indexFile} says tensor ${name} is in ${header.file}, but ${header.file} has no such tensor`,
          { file: header.file, tensor: name },
        );
      }
    }
    const unlisted = header.tensors.filter((t) => index.weightMap[t.name] !== header.file);
    if (unlisted.length) {
      warnings.push(
        `${header.file} has ${unlisted.length} tensor(s) that ${indexFile} does not list (e.g. ${unlisted[0].name}); ` +
          'they are kept as they are',
      );
    }
  }
  return buildCheckpoint(folder, headers, { ...index, file: indexFile }, warnings);
}

function parseIndex(json: unknown, file: string): Omit<CheckpointIndex, 'file'> {
  if (!isPlainObject(json) || !isPlainObject(json.weight_map)) {
    throw new ModelFileError(
      'bad-index',
      `${file} has no "weight_map" object: it is not a safetensors index`,
      { file },
    );
  }
  // No prototype: a tensor named "__proto__" is a key like any other.
  const weightMap: Record<string, string> = Object.create(null);
  const entries = Object.entries(json.weight_map);
  checkTensorCount(entries.length, file);
  for (const [tensor, shard] of entries) {
    if (typeof shard !== 'string' || !shard.endsWith('.safetensors') || shard.includes('/')) {
      throw new ModelFileError(
        'bad-index',
        `${file}: tensor ${tensor} maps to ${JSON.stringify(shard)?.slice(0, 60)}, not to a .safetensors file beside it`,
        { file, tensor },
      );
    }
    weightMap[tensor] = shard;
  }
  if (Object.keys(weightMap).length === 0) {
    throw new ModelFileError('bad-index', `${file} lists no tensors`, { file });
  }
  return { metadata: isPlainObject(json.metadata) ? json.metadata : {}, weightMap };
}

function buildCheckpoint(
  folder: ModelFolder,
  files: SafetensorsHeader[],
  index: CheckpointIndex | undefined,
  warnings: string[],
): Checkpoint {
  checkTensorCount(
    files.reduce((count, header) => count + header.tensors.length, 0),
    files.length === 1 ? files[0].file : `${folder.name}'s ${files.length} safetensors files`,
  );
  const tensors = files.flatMap((header) => header.tensors);
  const byName = new Map<string, TensorInfo>();
  for (const tensor of tensors) {
    const other = byName.get(tensor.name);
    if (other) {
      throw new ModelFileError(
        'duplicate-tensor',
        `tensor ${tensor.name} is in both ${other.file} and ${tensor.file}; a checkpoint must have it once`,
        { file: tensor.file, tensor: tensor.name },
      );
    }
    byName.set(tensor.name, tensor);
  }
  if (tensors.length === 0) {
    throw new ModelFileError('missing-weights', `${files.map((f) => f.file).join(', ')} contains no tensors`);
  }
  const metadata: Record<string, string> = {};
  for (const file of files) Object.assign(metadata, file.metadata);
  const source = (file: string): ByteSource => {
    const found = folder.files.get(file);
    if (!found) throw new ModelFileError('missing-file', `${folder.name} has no ${file}`, { file });
    return found;
  };
  const tensor = (name: string): TensorInfo => {
    const found = byName.get(name);
    if (!found) {
      throw new ModelFileError('tensor-not-found', `${folder.name} has no tensor named ${name}`, {
        tensor: name,
      });
    }
    return found;
  };
  return {
    folder,
    files,
    index,
    tensors,
    metadata,
    warnings,
    has: (name) => byName.has(name),
    tensor,
    source,
    async readFloat32(name, rows) {
      const info = tensor(name);
      return readTensorFloat32(source(info.file), info, rows);
    },
    async readBytes(name) {
      const info = tensor(name);
      return source(info.file).read(info.byteStart, info.byteEnd - info.byteStart);
    },
    byteChunks(name, chunkBytes) {
      const info = tensor(name);
      return tensorByteChunks(source(info.file), info, chunkBytes);
    },
  };
}

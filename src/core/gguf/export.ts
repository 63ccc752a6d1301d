/**
 * A Hugging Face model folder → one GGUF file llama.cpp runs: the plan (every tensor's GGUF name, shape and ggml
 * type by llama.cpp's quantization recipe, the architecture, tokenizer and provenance metadata), the streaming
 * write (one chunk of rows in memory at a time, quantized round-to-nearest with ggml's rules), and the check that
 * re-reads what was written.
 */

import { type Architecture, describeArchitecture } from '../forward/architecture';
import type { ByteSink, ByteSource } from '../io/bytes';
import { openCheckpoint } from '../io/checkpoint';
import { ModelFileError } from '../io/errors';
import { folderFile, type ModelFolder, readTextFile } from '../io/folder';
import { loadModelConfig } from '../model/config';
import type { ModelConfig } from '../model/types';
import { GGML_TYPES, type GgmlType, isQuantized } from '../quant/ggml-types';
import { quantizeRows } from '../quant/rows';
import { packSolvedRows } from '../quant/solved-rows';
import { loadTokenizer } from '../tokenizer/load-tokenizer';
import { TOOL_NAME, TOOL_VERSION } from '../version';
import { GGML_QUANTIZATION_VERSION, type GgufValue, str, u32 } from './format';
import { architectureMetadata, llama3RopeFactors, longRopeFactors } from './hparams';
import { llamaCppWarnings } from './llama-cpp-limits';
import { ggufArchitecture, mapTensors, sourceTensors, type TensorMapping, toGgufRows } from './model-map';
import { readGgufHeader } from './reader';
import { chooseTensorTypes, FILE_TYPE_INFO, type GgufFileType } from './recipe';
import { ggufVocabulary } from './vocab';
import { type GgufLayout, layoutGguf, type TensorToStream, writeGguf } from './writer';

/** Key holding the source config.json, so that this tool can evaluate the GGUF with its own forward. */
export const HF_CONFIG_KEY = 'sparsegpt.hf_config_json';
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);
const CHUNK_VALUES = 1 << 22;

export interface PlannedTensor {
  name: string;
  /** PyTorch order ([rows, cols] or [n]). */
  shape: number[];
  type: GgmlType;
  /** HF source and how it becomes this tensor; absent for generated tensors (Llama 3's rope_freqs). */
  mapping?: TensorMapping;
  values?: Float32Array;
}

export interface GgufExportPlan {
  fileType: GgufFileType;
  metadata: Array<readonly [string, GgufValue]>;
  tensors: PlannedTensor[];
  /** Tensors whose rows did not fit the recipe's type (already in `warnings`). */
  fallbacks: string[];
  warnings: string[];
  layout: GgufLayout;
  /** Bytes of the input's weight files, for the size comparison. */
  inputBytes: number;
  read(name: string, rows?: { start: number; end: number }): Promise<Float32Array>;
  /**
   * Tensors the solver quantized (by HF name): their values are on the type's grid and are stored under the
   * solver's own scale words (row-major in the HF rows), never quantized again.
   */
  solved?: Map<string, SolvedTensor>;
}

export interface SolvedTensor {
  type: GgmlType;
  /** Scale words per row (quant_block_scales.wgsl's layout); none for F16. */
  scales?: Float32Array;
}

/**
 * The plan with the pruner's weights in place of the folder's: `read` gives the pruned linears (and the folder's
 * other tensors), and the linears the solver quantized are stored with the scales it chose.
 */
export function withSolvedWeights(
  plan: GgufExportPlan,
  read: GgufExportPlan['read'],
  solved: Map<string, SolvedTensor>,
): GgufExportPlan {
  for (const tensor of plan.tensors) {
    for (const hf of tensor.mapping ? sourceTensors(tensor.mapping) : []) {
      const found = solved.get(hf);
      if (found && found.type !== tensor.type) {
        throw new Error(
          `${hf} was quantized to ${found.type} but the recipe stores ${tensor.name} as ${tensor.type}`,
        );
      }
    }
  }
  return { ...plan, read, solved };
}

const dims = (shape: number[]) => [...shape].reverse();

function refuseQuantizedInput(folder: ModelFolder, configText: string | undefined): void {
  const files = [...folder.files.keys()];
  const gguf = files.find((path) => path.toLowerCase().endsWith('.gguf'));
  if (gguf && !files.some((path) => path.endsWith('.safetensors'))) {
    throw new ModelFileError(
      'unsupported-weights',
      `${gguf} is already a GGUF file. Export from the original model folder (config.json and .safetensors): ` +
        'quantizing quantized weights again loses quality twice',
      { file: gguf },
    );
  }
  const method = configText ? /"quant_method"\s*:\s*"([^"]+)"/.exec(configText)?.[1] : undefined;
  if (configText?.includes('"quantization_config"')) {
    throw new ModelFileError(
      'unsupported-dtype',
      `${folder.name} is already quantized (${method ?? 'quantization_config in config.json'}). GGUF export needs ` +
        'the original float weights (F32, F16 or BF16): use the unquantized model',
      { file: 'config.json' },
    );
  }
}

/**
 * Every tensor of the GGUF file (its name, PyTorch shape, HF source) with its ggml type by llama.cpp's recipe for
 * `fileType`, and the lines saying which fell back. The pruner quantizes its linears to these types in the walk.
 */
export function planTensorTypes(
  config: ModelConfig,
  arch: Architecture,
  fileType: GgufFileType,
): { tensors: PlannedTensor[]; fallbacks: string[] } {
  const architecture = ggufArchitecture(config);
  const llama3 = llama3RopeFactors(config);
  const generated = [
    ...(llama3 ? [{ name: 'rope_freqs.weight', values: llama3 }] : []),
    ...(longRopeFactors(config) ?? []),
  ];
  const planned: PlannedTensor[] = [
    ...generated.map(({ name, values }) => ({ name, shape: [values.length], type: 'F32' as const, values })),
    ...mapTensors(arch).map((mapping) => ({
      name: mapping.gguf,
      shape: mapping.shape,
      type: 'F32' as GgmlType,
      mapping,
    })),
  ];
  const is70B =
    config.numLayers === 80 && (architecture === 'qwen2' || config.numKvHeads !== config.numHeads);
  const recipe = chooseTensorTypes(
    fileType,
    planned.map((t) => ({ name: t.name, dims: dims(t.shape) })),
    { layers: config.numLayers, tiedEmbeddings: arch.lmHead.tied, is70B, experts: config.moe?.experts ?? 0 },
  );
  planned.forEach((tensor, i) => {
    tensor.type = recipe.types[i];
  });
  return { tensors: planned, fallbacks: recipe.fallbacks };
}

export async function planGgufExport(
  folder: ModelFolder,
  fileType: GgufFileType,
  extraProvenance: Record<string, string> = {},
): Promise<GgufExportPlan> {
  const configSource = folderFile(folder, 'config.json');
  const configText = configSource ? await readTextFile(configSource) : undefined;
  refuseQuantizedInput(folder, configText);
  const config = await loadModelConfig(folder);
  const architecture = ggufArchitecture(config);
  const checkpoint = await openCheckpoint(folder);
  const arch = describeArchitecture(
    config,
    checkpoint.tensors.map((t) => t.name),
  );
  const tokenizer = await loadTokenizer(folder, config);
  const mappings = mapTensors(arch);
  for (const mapping of mappings) {
    const sources = sourceTensors(mapping);
    // A stack's experts are [rows, cols] each.
    const shape = mapping.stack ? mapping.shape.slice(1) : mapping.shape;
    for (const hf of sources) {
      const info = checkpoint.tensor(hf);
      if (!FLOAT_DTYPES.has(info.dtype)) {
        throw new ModelFileError(
          'unsupported-dtype',
          `tensor ${hf} is stored as ${info.dtype}: the model is already quantized. GGUF export needs the ` +
            'original float weights (F32, F16 or BF16)',
          { tensor: hf, file: info.file },
        );
      }
      const count = info.shape.reduce((a, b) => a * b, 1);
      if (count !== shape.reduce((a, b) => a * b, 1)) {
        throw new ModelFileError(
          'bad-shape',
          `tensor ${hf} has shape [${info.shape}] but config.json implies [${shape}]`,
          { tensor: hf, file: info.file },
        );
      }
    }
  }
  const { tensors: planned, fallbacks } = planTensorTypes(config, arch, fileType);
  const warnings = [
    ...checkpoint.warnings,
    ...llamaCppWarnings(config, architecture),
    ...fallbacks.map((line) => `fallback: ${line}`),
  ];
  const quantizedLinears = planned.filter((t) => t.mapping && t.shape.length === 2 && isQuantized(t.type));
  if (isQuantized(FILE_TYPE_INFO[fileType].base) && quantizedLinears.length === 0) {
    throw new ModelFileError(
      'bad-shape',
      `${fileType}: no weight of this model has rows that fill ${FILE_TYPE_INFO[fileType].label} blocks of ` +
        `${GGML_TYPES[FILE_TYPE_INFO[fileType].base].blockSize} (hidden size ${config.hiddenSize}), so nothing would be ` +
        'quantized. Use f16 or f32',
    );
  }
  const provenance: Record<string, string> = {};
  for (const [key, value] of Object.entries(checkpoint.metadata)) {
    if (key.startsWith('sparsegpt.') && !key.startsWith('sparsegpt.progress'))
      provenance[`general.${key}`] = value;
  }
  provenance['general.sparsegpt.quantization'] = isQuantized(FILE_TYPE_INFO[fileType].base)
    ? `rtn:${fileType}`
    : 'none';
  provenance['general.sparsegpt.tool_version'] = TOOL_VERSION;
  for (const [key, value] of Object.entries(extraProvenance)) provenance[`general.sparsegpt.${key}`] = value;
  const [architectureEntry, ...hparams] = architectureMetadata(architecture, config);
  const metadata: Array<readonly [string, GgufValue]> = [
    architectureEntry,
    ['general.name', str(folder.name)],
    ['general.quantized_by', str(`${TOOL_NAME} ${TOOL_VERSION}`)],
    ...hparams,
    ['general.file_type', u32(FILE_TYPE_INFO[fileType].id)],
    ['general.quantization_version', u32(GGML_QUANTIZATION_VERSION)],
    ...Object.entries(provenance).map(([key, value]) => [key, str(value)] as const),
    ...(configText ? [[HF_CONFIG_KEY, str(configText)] as const] : []),
    ...(await ggufVocabulary(folder, config, tokenizer)),
  ];
  const layout = layoutGguf(
    metadata,
    planned.map((t) => ({ name: t.name, dims: dims(t.shape), type: t.type })),
  );
  return {
    fileType,
    metadata,
    tensors: planned,
    fallbacks,
    warnings,
    layout,
    inputBytes: checkpoint.tensors.reduce((sum, t) => sum + t.byteEnd - t.byteStart, 0),
    read: (name, rows) => checkpoint.readFloat32(name, rows),
  };
}

/** The tensor's GGUF bytes in chunks of whole rows (whole heads when its rows are permuted; expert by expert). */
async function* tensorBytes(plan: GgufExportPlan, tensor: PlannedTensor): AsyncGenerator<Uint8Array> {
  const { mapping, shape, type } = tensor;
  const columns = shape.at(-1) as number;
  if (!mapping) {
    yield quantizeRows(type, tensor.values as Float32Array, columns);
    return;
  }
  if (mapping.stack) {
    const expertShape = shape.slice(1);
    for (const hf of mapping.stack) {
      const expert = {
        ...tensor,
        shape: expertShape,
        mapping: { ...mapping, hf, shape: expertShape, stack: undefined },
      };
      yield* tensorBytes(plan, expert);
    }
    return;
  }
  const solved = plan.solved?.get(mapping.hf);
  if (solved) {
    yield solvedBytes(await plan.read(mapping.hf), solved, tensor);
    return;
  }
  if (shape.length === 1 || mapping.transform.kind === 'transpose') {
    const values = toGgufRows(await plan.read(mapping.hf), shape, mapping.transform);
    const step = Math.max(1, Math.floor(CHUNK_VALUES / columns)) * columns;
    for (let start = 0; start < values.length; start += step) {
      yield quantizeRows(type, values.subarray(start, Math.min(values.length, start + step)), columns);
    }
    return;
  }
  const rows = shape[0];
  const unit = mapping.transform.kind === 'permute' ? rows / mapping.transform.heads : 1;
  const step = Math.max(unit, Math.floor(CHUNK_VALUES / columns / unit) * unit);
  for (let start = 0; start < rows; start += step) {
    const end = Math.min(rows, start + step);
    const source = await plan.read(mapping.hf, { start, end });
    yield quantizeRows(type, toGgufRows(source, shape, mapping.transform, start), columns);
  }
}

/** A solved linear's bytes: its values and scale words in GGUF row order, packed under those scales (checked). */
function solvedBytes(source: Float32Array, solved: SolvedTensor, tensor: PlannedTensor): Uint8Array {
  const { mapping, shape, type } = tensor;
  const transform = (mapping as TensorMapping).transform;
  const values = toGgufRows(source, shape, transform);
  // The scale words are per row of the solver's W (output rows): only the q/k head permutation moves them.
  const scales =
    solved.scales && transform.kind === 'permute'
      ? toGgufRows(solved.scales, [shape[0], solved.scales.length / shape[0]], transform)
      : solved.scales;
  return packSolvedRows(type, values, scales, shape[1], tensor.name);
}

export async function writeGgufExport(
  sink: ByteSink,
  plan: GgufExportPlan,
  onTensor?: (index: number, tensor: PlannedTensor) => void,
  signal?: AbortSignal,
): Promise<GgufLayout> {
  const tensors: TensorToStream[] = plan.tensors.map((tensor) => ({
    name: tensor.name,
    dims: dims(tensor.shape),
    type: tensor.type,
    bytes: () => tensorBytes(plan, tensor),
  }));
  return writeGguf(sink, plan.metadata, tensors, {
    onTensor: (i) => onTensor?.(i, plan.tensors[i]),
    signal,
  });
}

/** Re-reads a written file's header and tensor table and checks them against the plan. */
export async function verifyGgufExport(source: ByteSource, plan: GgufExportPlan): Promise<void> {
  const fail = (why: string): never => {
    throw new ModelFileError('write-failed', `${source.name} was not written correctly: ${why}`, {
      file: source.name,
    });
  };
  if (source.size !== plan.layout.fileBytes)
    fail(`it has ${source.size} bytes, expected ${plan.layout.fileBytes}`);
  const file = await readGgufHeader(source);
  if (file.metadata.size !== plan.layout.metadata.length) fail('its metadata differs from what was written');
  if (file.tensors.length !== plan.layout.tensors.length)
    fail('its tensor table differs from what was written');
  plan.layout.tensors.forEach((expected, i) => {
    const found = file.tensors[i];
    const same =
      found.name === expected.name &&
      found.type === expected.type &&
      found.offset === expected.offset &&
      found.dims.join() === expected.dims.join();
    if (!same) fail(`tensor ${i} (${expected.name}) differs in its table entry`);
  });
}

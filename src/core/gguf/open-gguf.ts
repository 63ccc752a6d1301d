/**
 * A GGUF written by this tool, opened for this tool's own forward: the model's config.json kept in the file, the
 * architecture from it, every HF tensor read back from its GGUF tensor (dequantized, un-permuted, un-transposed)
 * and the GGUF's own vocabulary as the tokenizer.
 */
import { type Architecture, describeArchitecture } from '../forward/architecture';
import type { TensorSource } from '../forward/block-weights';
import type { ByteSource } from '../io/bytes';
import { ModelFileError } from '../io/errors';
import { parseModelConfig } from '../model/config';
import type { ModelConfig } from '../model/types';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import { HF_CONFIG_KEY } from './export';
import { tokenizerFromGguf } from './gguf-tokenizer';
import { fromGgufTensor, mapTensors, sourceTensors } from './model-map';
import { type GgufFile, metadataValue, readGgufHeader, readGgufTensor } from './reader';

export interface OpenedGguf {
  file: GgufFile;
  config: ModelConfig;
  arch: Architecture;
  tokenizer: TextTokenizer;
  /** HF tensor name → float32 values in the HF checkpoint's layout. */
  read: TensorSource;
}

export async function openGgufModel(source: ByteSource): Promise<OpenedGguf> {
  const file = await readGgufHeader(source);
  const configText = metadataValue(file, HF_CONFIG_KEY, 'string')?.value;
  if (!configText) {
    throw new ModelFileError(
      'unsupported-weights',
      `${source.name} was not written by sparsegpt export-gguf (it has no ${HF_CONFIG_KEY}); this tool evaluates ` +
        "the GGUF files it writes. Run llama.cpp's llama-perplexity on other GGUF files",
      { file: source.name },
    );
  }
  const config = parseModelConfig(JSON.parse(configText), `${source.name}: config.json`);
  const arch = describeArchitecture(config);
  const tensors = new Map(file.tensors.map((t) => [t.name, t]));
  // Each HF tensor with its GGUF tensor and, for an expert of a stack, its place in it.
  const byHfName = new Map(
    mapTensors(arch).flatMap((m) =>
      sourceTensors(m).map((hf, expert) => [hf, { mapping: m, expert }] as const),
    ),
  );
  const read: TensorSource = async (name) => {
    const { mapping, expert } = byHfName.get(name) ?? {};
    const tensor = mapping ? tensors.get(mapping.gguf) : undefined;
    if (!mapping || !tensor || expert === undefined) {
      throw new ModelFileError('tensor-not-found', `${source.name} has no tensor for ${name}`, {
        tensor: name,
      });
    }
    if (mapping.stack) {
      const [, rows] = mapping.shape;
      return readGgufTensor(file, tensor, { start: expert * rows, end: (expert + 1) * rows });
    }
    return fromGgufTensor(await readGgufTensor(file, tensor), mapping.shape, mapping.transform);
  };
  return { file, config, arch, tokenizer: tokenizerFromGguf(file), read };
}

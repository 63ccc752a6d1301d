/**
 * A model as the forward alone needs it — its architecture, tokenizer, context length and a source of float32
 * tensors — opened from a model folder (config.json + safetensors, checked as for pruning) or from a GGUF written by
 * this tool (its dequantized weights: how a quantized export is evaluated and generated from). `eval` and `generate`
 * take either.
 */
import type { Architecture } from '../forward/architecture';
import type { TensorSource } from '../forward/block-weights';
import { openGgufModel } from '../gguf/open-gguf';
import type { ByteSource } from '../io/bytes';
import { ModelFileError } from '../io/errors';
import type { ModelFolder } from '../io/folder';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import { type OpenedModel, openModel } from './open-model';

export interface ForwardModel {
  name: string;
  arch: Architecture;
  tokenizer: TextTokenizer;
  /** The positions the model was trained on (config max_position_embeddings). */
  maxPositions: number;
  source: TensorSource;
}

export function forwardModelOf(model: OpenedModel): ForwardModel {
  return {
    name: model.folder.name,
    arch: model.arch,
    tokenizer: model.tokenizer,
    maxPositions: model.config.maxPositions,
    source: (name) => model.checkpoint.readFloat32(name),
  };
}

export async function openGgufForward(source: ByteSource): Promise<ForwardModel> {
  const gguf = await openGgufModel(source);
  return {
    name: source.name,
    arch: gguf.arch,
    tokenizer: gguf.tokenizer,
    maxPositions: gguf.config.maxPositions,
    source: gguf.read,
  };
}

/** A model folder, or a folder that holds nothing but one .gguf (a quantized run's output). */
export async function openForwardFolder(folder: ModelFolder): Promise<ForwardModel> {
  if (folder.files.has('config.json')) return forwardModelOf((await openModel(folder)).model);
  const ggufs = [...folder.files].filter(([path]) => path.toLowerCase().endsWith('.gguf'));
  if (ggufs.length === 1) return openGgufForward(ggufs[0][1]);
  throw new ModelFileError(
    'missing-config',
    ggufs.length > 1
      ? `${folder.name} holds ${ggufs.length} .gguf files and no config.json: name the one to use`
      : `${folder.name} has no config.json (and no .gguf written by this tool)`,
    { file: `${folder.name}/config.json` },
  );
}

/**
 * Tiny random models written to disk as a Hugging Face folder (config.json with transformers' keys, one
 * model.safetensors with the real tensor shapes, the demo's 512-token tokenizer), for tests that drive the CLI as a
 * child process. A few blocks of width 24 prune in well under a second each on SwiftShader.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeArchitecture } from '../src/core/forward/architecture';
import { encodeSafetensors } from '../src/core/io/safetensors-write';
import type { ModelConfig } from '../src/core/model/types';
import { randomCheckpoint, tinyLlamaConfig, tinyOptConfig } from './checkpoints';

export const DEMO_DIR = resolve(import.meta.dirname, '../public/demo/stories260K');

/** The demo tokenizer's vocabulary: the random models share it so the CLI can tokenize real text. */
const VOCAB = 512;

export interface TinyFolderOptions {
  layers?: number;
  seed?: number;
  /** Edits to config.json as written (e.g. a wrong num_hidden_layers). */
  configEdits?: Record<string, unknown>;
}

export function tinyFolderConfig(layers: number): ModelConfig {
  return tinyLlamaConfig({ numLayers: layers, vocabSize: VOCAB, maxPositions: 128 });
}

/** transformers' config.json for a Llama ModelConfig. */
function llamaConfigJson(config: ModelConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    vocab_size: config.vocabSize,
    max_position_embeddings: config.maxPositions,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    hidden_act: 'silu',
    tie_word_embeddings: config.tiedEmbeddings,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
}

/** The safetensors bytes of a random Llama checkpoint, every tensor in the shape transformers saves. */
export function tinyCheckpointBytes(config: ModelConfig, seed = 1): Uint8Array {
  const random = randomCheckpoint(config, { seed });
  const arch = describeArchitecture(config, random.names);
  const shapes = new Map<string, number[]>([
    [arch.embedding.tensor, [arch.embedding.rows, arch.embedding.cols]],
    [arch.lmHead.tensor, [arch.lmHead.rows, arch.lmHead.cols]],
  ]);
  if (arch.positions) shapes.set(arch.positions.tensor, [arch.positions.rows, arch.positions.cols]);
  for (const linear of arch.prunableLinears()) shapes.set(linear.tensor, linear.storedShape);
  return encodeSafetensors(
    random.names.map((name) => ({
      name,
      dtype: 'F32' as const,
      shape: shapes.get(name) ?? [random.tensor(name).length],
      data: random.tensor(name),
    })),
  );
}

/** Writes the folder and returns its path. */
export async function writeTinyModelFolder(dir: string, options: TinyFolderOptions = {}): Promise<string> {
  const config = tinyFolderConfig(options.layers ?? 2);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'config.json'),
    `${JSON.stringify({ ...llamaConfigJson(config), ...options.configEdits }, null, 2)}\n`,
  );
  await writeFile(join(dir, 'model.safetensors'), tinyCheckpointBytes(config, options.seed));
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    await copyFile(join(DEMO_DIR, file), join(dir, file));
  }
  return dir;
}

/**
 * A tiny OPT folder (transformers' config.json, random F32 weights, the demo's tokenizer): hidden 64 and ffn 128, so
 * that every linear's rows fill blocks of 32 and 256.
 */
export async function writeTinyOptFolder(dir: string): Promise<string> {
  const config = tinyOptConfig({
    hiddenSize: 64,
    intermediateSize: 128,
    headDim: 16,
    vocabSize: VOCAB,
    maxPositions: 128,
  });
  await mkdir(dir, { recursive: true });
  const json = {
    architectures: ['OPTForCausalLM'],
    model_type: 'opt',
    hidden_size: config.hiddenSize,
    ffn_dim: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    vocab_size: config.vocabSize,
    max_position_embeddings: config.maxPositions,
    do_layer_norm_before: true,
    word_embed_proj_dim: config.hiddenSize,
    activation_function: 'relu',
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float32',
  };
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(join(dir, 'model.safetensors'), tinyCheckpointBytes(config, 3));
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    await copyFile(join(DEMO_DIR, file), join(dir, file));
  }
  return dir;
}

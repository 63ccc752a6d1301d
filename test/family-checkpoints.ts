/**
 * Tiny random checkpoints of the newer families (Qwen3, Gemma 2/3, Phi-3/4, Mistral, Mixtral, Qwen3-MoE): the real
 * config.json with sizes shrunk (family-configs.ts) parsed by the real parser, and tensors in the exact on-disk
 * layout transformers saves — names and shapes written out here, independently of architecture.ts — stored as
 * BF16, F16 or F32 and held as the values those dtypes keep. Weights are scaled so activations stay O(1), the
 * routers prefer some experts, the LM head's softmax is far from uniform, and Gemma 2's attention scores reach
 * its soft cap.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeFloats, encodeFloats } from '../src/core/io/dtype';
import { encodeSafetensors } from '../src/core/io/safetensors-write';
import { parseModelConfig } from '../src/core/model/config';
import type { ModelConfig } from '../src/core/model/types';
import { tinyConfigJson } from './family-configs';
import { gaussian } from './random';

export type StorageDtype = 'BF16' | 'F16' | 'F32';

/** How each family's tiny checkpoint is stored: BF16 as most are published, F16 and F32 for the readers' sake. */
export const STORAGE: Record<string, StorageDtype> = {
  'Qwen/Qwen3-0.6B': 'BF16',
  'google/gemma-3-270m': 'BF16',
  'google/gemma-3-1b-pt': 'F16',
  'google/gemma-2-2b': 'F32',
  'microsoft/Phi-3-mini-4k-instruct': 'F16',
  'microsoft/Phi-4-mini-instruct': 'BF16',
  'mistralai/Mistral-7B-v0.1': 'F32',
  'mistralai/Mixtral-8x7B-v0.1': 'F16',
  'Qwen/Qwen3-30B-A3B': 'BF16',
};

export interface FamilyCheckpoint {
  name: string;
  json: Record<string, unknown>;
  config: ModelConfig;
  dtype: StorageDtype;
  /** Values as stored: rounded to `dtype`. */
  tensors: Map<string, Float32Array>;
  /** Shapes as saved ([out, in] for linears). */
  shapes: Map<string, number[]>;
  names: string[];
  tensor(name: string): Float32Array;
}

export interface FamilyOptions {
  /** Fields of config.json to change after shrinking (a feature switched off, a window widened …). */
  overrides?: Record<string, unknown>;
  seed?: number;
  vocab?: number;
}

export function familyCheckpoint(name: string, options: FamilyOptions = {}): FamilyCheckpoint {
  const json = tinyConfigJson(name, options.overrides, options.vocab);
  const config = parseModelConfig(json);
  const dtype = STORAGE[name];
  const tensors = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  let seed = options.seed ?? 7;
  const add: AddTensor = (tensor, shape, std, mean = 0) => {
    const values = gaussian(
      shape.reduce((a, b) => a * b),
      seed++,
    ).map((x) => mean + std * x);
    const stored = new Float32Array(values.length);
    decodeFloats(encodeFloats(values, dtype), dtype, stored);
    tensors.set(tensor, stored);
    shapes.set(tensor, shape);
  };
  const linear: AddLinear = (tensor, rows, cols) =>
    add(`${tensor}.weight`, [rows, cols], 1 / Math.sqrt(cols));
  const gemma = config.modelType.startsWith('gemma');
  // Gemma stores RMSNorm weights as offsets from 1 (the norm multiplies by 1 + w).
  const rmsNorm = (tensor: string, size: number) => add(`${tensor}.weight`, [size], 0.1, gemma ? 0 : 1);
  const { hiddenSize: H, vocabSize: V, headDim: D } = config;
  const q = config.numHeads * D;
  const kv = config.numKvHeads * D;

  // Logits of std ~2 over the tiny vocabulary: sharp, but not one-hot.
  add('model.embed_tokens.weight', [V, H], 0.4);
  for (let layer = 0; layer < config.numLayers; layer++) {
    const l = `model.layers.${layer}.`;
    rmsNorm(`${l}input_layernorm`, H);
    if (config.modelType === 'phi3') {
      linear(`${l}self_attn.qkv_proj`, q + 2 * kv, H);
    } else {
      for (const [proj, rows] of [
        ['q_proj', q],
        ['k_proj', kv],
        ['v_proj', kv],
      ] as const) {
        // Gemma 2's attention scores reach its soft cap (50) as the real model's do, so that the cap matters.
        const scale = config.attentionSoftcap !== undefined && proj !== 'v_proj' ? 3 : 1;
        add(`${l}self_attn.${proj}.weight`, [rows, H], scale / Math.sqrt(H));
        if (config.biases.qkv) add(`${l}self_attn.${proj}.bias`, [rows], 0.3);
      }
    }
    linear(`${l}self_attn.o_proj`, H, q);
    if (['qwen3', 'qwen3_moe', 'gemma3_text'].includes(config.modelType)) {
      rmsNorm(`${l}self_attn.q_norm`, D);
      rmsNorm(`${l}self_attn.k_norm`, D);
    }
    rmsNorm(`${l}post_attention_layernorm`, H);
    if (gemma) {
      rmsNorm(`${l}pre_feedforward_layernorm`, H);
      rmsNorm(`${l}post_feedforward_layernorm`, H);
    }
    addMlp(config, l, layer, linear, add);
  }
  rmsNorm('model.norm', H);
  if (!config.tiedEmbeddings) add('lm_head.weight', [V, H], 0.4);
  return {
    name,
    json,
    config,
    dtype,
    tensors,
    shapes,
    names: [...tensors.keys()],
    tensor(tensor) {
      const data = tensors.get(tensor);
      if (!data) throw new Error(`${name} has no tensor "${tensor}"`);
      return data;
    },
  };
}

type AddLinear = (tensor: string, rows: number, cols: number) => void;
type AddTensor = (tensor: string, shape: number[], std: number, mean?: number) => void;

/** Phi-3's fused gate_up_proj, Mixtral's block_sparse_moe, Qwen3-MoE's mlp.experts, or gate/up/down_proj. */
function addMlp(config: ModelConfig, l: string, layer: number, linear: AddLinear, add: AddTensor): void {
  const { hiddenSize: H, intermediateSize: I } = config;
  const json = config.moe;
  if (config.modelType === 'mixtral' && json) {
    add(`${l}block_sparse_moe.gate.weight`, [json.experts, H], 2 / Math.sqrt(H));
    for (let e = 0; e < json.experts; e++) {
      const x = `${l}block_sparse_moe.experts.${e}.`;
      linear(`${x}w1`, I, H);
      linear(`${x}w3`, I, H);
      linear(`${x}w2`, H, I);
    }
    return;
  }
  if (config.modelType === 'qwen3_moe' && json && !json.denseLayers.includes(layer)) {
    const M = json.expertIntermediateSize;
    add(`${l}mlp.gate.weight`, [json.experts, H], 2 / Math.sqrt(H));
    for (let e = 0; e < json.experts; e++) {
      const x = `${l}mlp.experts.${e}.`;
      linear(`${x}gate_proj`, M, H);
      linear(`${x}up_proj`, M, H);
      linear(`${x}down_proj`, H, M);
    }
    return;
  }
  if (config.modelType === 'phi3') linear(`${l}mlp.gate_up_proj`, 2 * I, H);
  else {
    linear(`${l}mlp.gate_proj`, I, H);
    linear(`${l}mlp.up_proj`, I, H);
  }
  linear(`${l}mlp.down_proj`, H, I);
}

/**
 * The checkpoint as files of a model folder: config.json and model.safetensors, or `shards` safetensors shards with
 * model.safetensors.index.json as transformers writes them.
 */
export function familyFiles(checkpoint: FamilyCheckpoint, shards = 1): Array<[string, Uint8Array]> {
  const encoder = new TextEncoder();
  const files: Array<[string, Uint8Array]> = [
    ['config.json', encoder.encode(JSON.stringify(checkpoint.json, null, 2))],
  ];
  const tensor = (name: string) => ({
    name,
    dtype: checkpoint.dtype,
    shape: checkpoint.shapes.get(name) ?? [checkpoint.tensor(name).length],
    data: checkpoint.tensor(name),
  });
  if (shards === 1) {
    files.push(['model.safetensors', encodeSafetensors(checkpoint.names.map(tensor))]);
    return files;
  }
  const weightMap: Record<string, string> = {};
  const per = Math.ceil(checkpoint.names.length / shards);
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const names = checkpoint.names.slice(s * per, (s + 1) * per);
    for (const name of names) weightMap[name] = file;
    files.push([file, encodeSafetensors(names.map(tensor))]);
  }
  const index = { metadata: { total_size: 0 }, weight_map: weightMap };
  files.push(['model.safetensors.index.json', encoder.encode(JSON.stringify(index))]);
  return files;
}

/**
 * The checkpoint as a model folder on disk at `dir`, with the demo's 512-token tokenizer beside it (the checkpoint's
 * vocabulary must be 512 to take it): what a user downloads from the hub, for tests that drive the CLI.
 */
export function writeFamilyFolder(dir: string, checkpoint: FamilyCheckpoint, shards = 1): string {
  mkdirSync(dir, { recursive: true });
  for (const [file, bytes] of familyFiles(checkpoint, shards)) writeFileSync(join(dir, file), bytes);
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    copyFileSync(join(DEMO_TOKENIZER_DIR, file), join(dir, file));
  }
  return dir;
}

const DEMO_TOKENIZER_DIR = resolve(import.meta.dirname, '../public/demo/stories260K');

/**
 * Every router row a multiple (1, 0 or -1) of one stored vector u: a token goes to the first top-k experts where
 * u·h > 0 and to the next top-k where it is negative; the rest are never picked. Returns those experts (the same
 * in every layer). The values stay exact in any storage dtype: u is one as stored, times 1, 0 or -1.
 */
export function withUnreachableExperts(
  checkpoint: FamilyCheckpoint,
  router: (layer: number) => string,
): number[] {
  const moe = checkpoint.config.moe;
  if (!moe) throw new Error(`${checkpoint.name} has no experts`);
  const H = checkpoint.config.hiddenSize;
  for (let layer = 0; layer < checkpoint.config.numLayers; layer++) {
    const weights = checkpoint.tensor(router(layer));
    const u = weights.slice(0, H);
    for (let e = 0; e < moe.experts; e++) {
      const sign = e < moe.topK ? 1 : e < 2 * moe.topK ? -1 : 0;
      for (let j = 0; j < H; j++) weights[e * H + j] = sign * u[j];
    }
  }
  return Array.from({ length: moe.experts - 2 * moe.topK }, (_, i) => 2 * moe.topK + i);
}

/**
 * Synthetic Llama checkpoints written to disk as a Hugging Face folder (config.json with transformers' keys, one
 * model.safetensors streamed tensor by tensor, never whole in memory, and the demo's 512-token tokenizer), for the
 * benchmarks that run the CLI's pipeline on realistic proportions: bench:scale (many blocks) and bench:e2e (wide
 * blocks, grouped-query attention, Llama-7B shapes). Values are cheap and deterministic (xorshift, uniform in
 * ±1/sqrt(fan-in)); timings do not depend on them. test/model-folder.ts writes the small Gaussian ones the tests use.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeHeader } from '../src/core/io/checkpoint-writer';
import { dtypeBytes, encodeFloats, type FloatDtype } from '../src/core/io/dtype';
import type { SafetensorsHeader, TensorInfo } from '../src/core/io/safetensors-header';
import { fileByteSink } from '../src/node/files';

export const DEMO_DIR = new URL('../public/demo/stories260K/', import.meta.url).pathname;

export interface SyntheticLlama {
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  layers: number;
  /** The demo tokenizer's 512 unless more is asked for (the LM head's share of the evaluation grows with it). */
  vocab?: number;
  dtype?: FloatDtype;
  maxPositions?: number;
}

/** MLP width of Llama's proportions (8/3 · hidden, rounded to a multiple of 4), as bench:scale always used. */
export function llamaIntermediate(hidden: number): number {
  return Math.round((hidden * 8) / 3 / 4) * 4;
}

function tensorsFor(model: Required<SyntheticLlama>): Array<{ name: string; shape: number[] }> {
  const { hidden, intermediate, layers, vocab } = model;
  const headDim = hidden / model.heads;
  const kv = model.kvHeads * headDim;
  const list = [{ name: 'model.embed_tokens.weight', shape: [vocab, hidden] }];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    list.push(
      { name: `${p}input_layernorm.weight`, shape: [hidden] },
      { name: `${p}self_attn.q_proj.weight`, shape: [hidden, hidden] },
      { name: `${p}self_attn.k_proj.weight`, shape: [kv, hidden] },
      { name: `${p}self_attn.v_proj.weight`, shape: [kv, hidden] },
      { name: `${p}self_attn.o_proj.weight`, shape: [hidden, hidden] },
      { name: `${p}post_attention_layernorm.weight`, shape: [hidden] },
      { name: `${p}mlp.gate_proj.weight`, shape: [intermediate, hidden] },
      { name: `${p}mlp.up_proj.weight`, shape: [intermediate, hidden] },
      { name: `${p}mlp.down_proj.weight`, shape: [hidden, intermediate] },
    );
  }
  list.push({ name: 'model.norm.weight', shape: [hidden] });
  return list;
}

/** Norms 1, weights uniform in ±1/sqrt(fan-in), the embedding ×8. */
function valuesFor(name: string, shape: number[], seed: number): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (shape.length === 1) return out.fill(1);
  let state = seed >>> 0 || 1;
  const scale = (name.includes('embed') ? 8 : 1) / Math.sqrt(shape[1]);
  for (let i = 0; i < out.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = ((state >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

/** Writes the folder; returns the size of its model.safetensors in bytes. */
export async function writeSyntheticLlama(dir: string, options: SyntheticLlama): Promise<number> {
  const model: Required<SyntheticLlama> = { vocab: 512, dtype: 'F32', maxPositions: 2048, ...options };
  const tensors = tensorsFor(model);
  const elementBytes = dtypeBytes(model.dtype);
  let offset = 0;
  const infos: TensorInfo[] = tensors.map((t) => {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * elementBytes;
    const info = {
      name: t.name,
      dtype: model.dtype,
      shape: t.shape,
      file: 'model.safetensors',
      byteStart: offset,
      byteEnd: offset + bytes,
    };
    offset += bytes;
    return info;
  });
  const header: SafetensorsHeader = {
    file: 'model.safetensors',
    fileSize: offset,
    dataStart: 0,
    tensors: infos,
    metadata: {},
  };
  mkdirSync(dir, { recursive: true });
  const sink = await fileByteSink(join(dir, 'model.safetensors'));
  await sink.write(encodeHeader(header, { format: 'pt' }));
  for (const [i, t] of tensors.entries()) {
    await sink.write(encodeFloats(valuesFor(t.name, t.shape, i + 1), model.dtype));
  }
  await sink.close();
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: model.hidden,
    intermediate_size: model.intermediate,
    num_hidden_layers: model.layers,
    num_attention_heads: model.heads,
    num_key_value_heads: model.kvHeads,
    vocab_size: model.vocab,
    max_position_embeddings: model.maxPositions,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' }[model.dtype],
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    copyFileSync(join(DEMO_DIR, file), join(dir, file));
  }
  return offset;
}

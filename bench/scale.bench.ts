/**
 * `npm run bench:scale`: peak memory must not grow with depth. Builds synthetic Llama checkpoints of one width
 * with 4×, 16× and 64× the layers of a one-layer base, streamed to disk tensor by tensor (never whole in memory),
 * prunes each through the CLI in a fresh process, and prints each run's peak process RSS and peak GPU buffer
 * bytes, and largest over smallest (goal: below 1.2).
 *
 *   node bin/run-ts.mjs bench/scale.bench.ts [--hidden 128] [--multiples 4,16,64] [--keep]
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeHeader } from '../src/core/io/checkpoint-writer';
import { encodeFloats } from '../src/core/io/dtype';
import type { SafetensorsHeader, TensorInfo } from '../src/core/io/safetensors-header';
import { fileByteSink } from '../src/node/files';

const { values } = parseArgs({
  options: {
    hidden: { type: 'string', default: '128' },
    multiples: { type: 'string', default: '4,16,64' },
    keep: { type: 'boolean', default: false },
  },
});
const hidden = Number(values.hidden);
const intermediate = Math.round((hidden * 8) / 3 / 4) * 4;
const heads = Math.max(1, hidden / 32);
const vocab = 512;
const root = new URL('..', import.meta.url).pathname;
const demo = join(root, 'public/demo/stories260K');

function tensorsFor(layers: number): Array<{ name: string; shape: number[] }> {
  const list = [{ name: 'model.embed_tokens.weight', shape: [vocab, hidden] }];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`;
    list.push(
      { name: `${p}input_layernorm.weight`, shape: [hidden] },
      { name: `${p}self_attn.q_proj.weight`, shape: [hidden, hidden] },
      { name: `${p}self_attn.k_proj.weight`, shape: [hidden, hidden] },
      { name: `${p}self_attn.v_proj.weight`, shape: [hidden, hidden] },
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

/** Deterministic values: norms 1, weights uniform in ±1/sqrt(fan-in). */
function values32(name: string, shape: number[], seed: number): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (shape.length === 1) return out.fill(1);
  let state = seed >>> 0 || 1;
  const scale = 1 / Math.sqrt(shape[1]);
  for (let i = 0; i < out.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = ((state >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  }
  return name.includes('embed') ? out.map((v) => v * 8) : out;
}

async function writeModel(dir: string, layers: number): Promise<number> {
  const tensors = tensorsFor(layers);
  let offset = 0;
  const infos: TensorInfo[] = tensors.map((t) => {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * 4;
    const info = {
      name: t.name,
      dtype: 'F32' as const,
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
  const sink = await fileByteSink(join(dir, 'model.safetensors'));
  await sink.write(encodeHeader(header, { format: 'pt' }));
  for (const [i, t] of tensors.entries())
    await sink.write(encodeFloats(values32(t.name, t.shape, i + 1), 'F32'));
  await sink.close();
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: hidden,
    intermediate_size: intermediate,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: heads,
    vocab_size: vocab,
    max_position_embeddings: 512,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
    bos_token_id: 1,
    eos_token_id: 2,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  for (const file of ['tokenizer.json', 'tokenizer_config.json'])
    copyFileSync(join(demo, file), join(dir, file));
  return offset;
}

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-scale-'));
const rows: Array<{ layers: number; modelBytes: number; rss: number; gpu: number; seconds: number }> = [];
try {
  for (const multiple of values.multiples.split(',').map(Number)) {
    const dir = join(scratch, `layers-${multiple}`);
    mkdirSync(dir, { recursive: true });
    const modelBytes = await writeModel(dir, multiple);
    const json = join(scratch, `result-${multiple}.json`);
    const started = performance.now();
    execFileSync(
      process.execPath,
      [
        join(root, 'bin/sparsegpt.mjs'),
        'prune',
        dir,
        '--calib',
        join(demo, 'calibration.txt'),
        '--nsamples',
        '4',
        '--seqlen',
        '64',
        '--out',
        join(scratch, `out-${multiple}`),
        '--json',
        json,
        '--quiet',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const result = JSON.parse(readFileSync(json, 'utf8'));
    rows.push({
      layers: multiple,
      modelBytes,
      rss: result.peakRssBytes,
      gpu: result.peakGpuBytes,
      seconds: (performance.now() - started) / 1000,
    });
    rmSync(join(scratch, `out-${multiple}`), { recursive: true, force: true });
  }
} finally {
  if (!values.keep) rmSync(scratch, { recursive: true, force: true });
}
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
console.log(`hidden ${hidden}, intermediate ${intermediate}; 4 samples × 64 tokens`);
console.log('| layers | model MiB | peak RSS MiB | peak GPU MiB | peak GPU / model | seconds |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.layers} | ${mib(r.modelBytes)} | ${mib(r.rss)} | ${mib(r.gpu)} | ${(r.gpu / r.modelBytes).toFixed(3)} | ${r.seconds.toFixed(0)} |`,
  );
}
const ratio = (key: 'rss' | 'gpu') =>
  Math.max(...rows.map((r) => r[key])) / Math.min(...rows.map((r) => r[key]));
console.log(
  `largest / smallest: RSS ${ratio('rss').toFixed(3)}, GPU ${ratio('gpu').toFixed(3)} (goal < 1.2)`,
);

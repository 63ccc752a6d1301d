/**
 * `sparsegpt inspect` and `eval` on tiny checkpoints of the new families written to disk as the hub has them (real
 * config.json with sizes shrunk, real tensor names, BF16/F16/F32, one sharded): inspect reads every family and
 * names its particulars; eval runs Phi-4-mini and a window at least as wide as the sequence, matching the float64
 * reference, and refuses by name, with exit code 2, what the GPU forward does not compute yet.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { familyCheckpoint, familyFiles, STORAGE } from '../../../test/family-checkpoints';
import { REAL_CONFIGS } from '../../../test/family-configs';
import { nextTokenTargets, perplexityFromNll } from '../../core/eval/perplexity-windows';
import { ReferenceModel } from '../../core/forward/forward.reference';
import { measureEvaluation, openModel } from '../../core/pipeline/open-model';
import { openFolder } from '../../node/files';
import { runCommand } from './index';

const demo = new URL('../../../public/demo/stories260K/', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-families-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** The demo's 512-token tokenizer beside each checkpoint, whose vocabulary is 512 to take it. */
function writeFolder(name: string): string {
  const dir = join(scratch, name.replace('/', '--'));
  mkdirSync(dir, { recursive: true });
  const checkpoint = familyCheckpoint(name, { vocab: 512 });
  for (const [file, bytes] of familyFiles(checkpoint, name === 'Qwen/Qwen3-30B-A3B' ? 2 : 1)) {
    writeFileSync(join(dir, file), bytes);
  }
  for (const file of ['tokenizer.json', 'tokenizer_config.json'])
    copyFileSync(join(demo, file), join(dir, file));
  return dir;
}

const folders = new Map(Object.keys(REAL_CONFIGS).map((name) => [name, writeFolder(name)]));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...parts) => out.push(parts.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...parts) => err.push(parts.join(' ')));
  const code = await runCommand(argv);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const PARTICULARS: Record<string, RegExp> = {
  'Qwen/Qwen3-0.6B': /features: +q\/k RMSNorm per head$/m,
  'google/gemma-3-270m':
    /features: +sliding window of 5 tokens on 5 of 6 layers \(RoPE θ=10000\); RMSNorm \(1 \+ w\); norms before and after attention and MLP; embeddings × 5\.65625; attention scale 0\.25; q\/k RMSNorm per head/,
  'google/gemma-3-1b-pt': /features: +sliding window of 5 tokens on 5 of 6 layers/,
  'google/gemma-2-2b':
    /features: +sliding window of 8 tokens on 1 of 2 layers; attention soft-cap 50; final logit soft-cap 30; RMSNorm \(1 \+ w\)/,
  'microsoft/Phi-3-mini-4k-instruct':
    /features: +sliding window of 7 tokens on every layer; fused qkv_proj and gate_up_proj/,
  'microsoft/Phi-4-mini-instruct':
    /RoPE θ=10000 \(longrope ×32\)[\s\S]*features: +sliding window of 1024 tokens on every layer; fused qkv_proj and gate_up_proj; rotary on 0\.75 of each head/,
  'mistralai/Mistral-7B-v0.1': /features: +sliding window of 8 tokens on every layer$/m,
  'mistralai/Mixtral-8x7B-v0.1': /features: +8 experts, top 2 renormalised, expert MLP 24$/m,
  'Qwen/Qwen3-30B-A3B': /features: +16 experts, top 4 renormalised, expert MLP 12; q\/k RMSNorm per head/,
};

describe('sparsegpt inspect on the new families', () => {
  for (const [name, dir] of folders) {
    it(`${name}: architecture, particulars and ${STORAGE[name]} weights`, async () => {
      const { code, out, err } = await run('inspect', dir, '--no-tensors');
      expect(err).toBe('');
      expect(code).toBe(0);
      const modelType = REAL_CONFIGS[name].model_type as string;
      expect(out).toMatch(new RegExp(`architecture: ${modelType} \\(llama family\\)`));
      expect(out).toMatch(PARTICULARS[name]);
      expect(out).toMatch(new RegExp(`weights: .*\\(${STORAGE[name]}\\)`));
    });
  }

  it('reads the sharded Qwen3-MoE checkpoint through its index', async () => {
    const { out } = await run('inspect', folders.get('Qwen/Qwen3-30B-A3B') as string, '--no-tensors');
    expect(out).toMatch(/weights: +2 shards via model\.safetensors\.index\.json/);
  });
});

describe('sparsegpt eval on the new families', () => {
  const text = join(demo, 'evaluation.txt');

  it('Phi-4-mini (fused projections, LongRoPE past its 16 original positions): the float64 reference perplexity', async () => {
    const dir = folders.get('microsoft/Phi-4-mini-instruct') as string;
    const { code, out, err } = await run('eval', dir, '--text', text, '--seqlen', '20', '--max-windows', '3');
    expect(err).not.toMatch(/error/);
    expect(code).toBe(0);
    const printed = Number(/perplexity (\d+\.\d+)/.exec(out)?.[1]);
    const { model } = await openModel(await openFolder(dir));
    const windows = measureEvaluation(model, readFileSync(text, 'utf8'), {
      seqlen: 20,
      maxWindows: 3,
    });
    const tensors = new Map<string, Float32Array>();
    for (const t of model.checkpoint.tensors) tensors.set(t.name, await model.checkpoint.readFloat32(t.name));
    const reference = new ReferenceModel(model.config, (n) => tensors.get(n) as Float32Array, tensors.keys());
    const nll = reference.forwardNll(windows.ids, { sequences: windows.windows, seqLen: 20 });
    const { perplexity } = perplexityFromNll(nll, nextTokenTargets(windows.ids, 20));
    expect(Math.abs(printed / perplexity - 1)).toBeLessThan(1e-3);
  });

  it('Mistral runs at a sequence length its window covers and is refused past it, saying which length is exact', async () => {
    const dir = folders.get('mistralai/Mistral-7B-v0.1') as string;
    const within = await run('eval', dir, '--text', text, '--seqlen', '8', '--max-windows', '2');
    expect(within.code).toBe(0);
    expect(within.out).toMatch(/perplexity \d+\.\d+/);
    const past = await run('eval', dir, '--text', text, '--seqlen', '16', '--max-windows', '2');
    expect(past.code).toBe(2);
    expect(past.err).toMatch(
      /error: This mistral model uses sliding-window attention narrower than the sequence \(a 8-token window, 16-token sequences; a sequence length of 8 or less is exact\)/,
    );
  });

  it.each([
    ['google/gemma-2-2b', /attention logit soft-capping \(Gemma 2\); final logit soft-capping \(Gemma 2\)/],
    ['Qwen/Qwen3-0.6B', /per-head q\/k RMSNorm before RoPE/],
    ['mistralai/Mixtral-8x7B-v0.1', /mixture-of-experts MLPs/],
  ])('%s is refused by name with exit code 2', async (name, message) => {
    const { code, out, err } = await run(
      'eval',
      folders.get(name) as string,
      '--text',
      text,
      '--seqlen',
      '4',
    );
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(message);
    expect(err).toMatch(/which the GPU forward does not compute yet/);
  });
});

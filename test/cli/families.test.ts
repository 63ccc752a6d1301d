/**
 * Every newer family through the real CLI, as a child process, on its tiny checkpoint written as the hub has it
 * (family-checkpoints.ts: the real config.json with sizes shrunk, real tensor names, BF16/F16/F32, one sharded):
 * `inspect` names the family's particulars; `eval` prints the float64 reference's mean NLL; `prune` writes a folder
 * whose pruned linears (Phi-3's fused qkv_proj and gate_up_proj as the single linears they are on disk, each
 * expert's own) are at the asked sparsity, and whose `eval` is the float64 reference's on the written weights.
 * For the mixtures of experts, a router that never picks some experts: they stay dense, byte for byte, with a warning
 * naming each, unless `--expert-calibration all` calibrates them on every token. Config fields the tool does not
 * model are refused by name, exit code 2, nothing written.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nextTokenTargets, perplexityFromNll } from '../../src/core/eval/perplexity-windows';
import { ReferenceModel } from '../../src/core/forward/forward.reference';
import { openCheckpoint } from '../../src/core/io/checkpoint';
import { measureEvaluation, openModel } from '../../src/core/pipeline/open-model';
import { openFolder } from '../../src/node/files';
import { DEMO_EVALUATION, runCli, smallPruneArgs } from '../cli';
import { familyCheckpoint, withUnreachableExperts, writeFamilyFolder } from '../family-checkpoints';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-cli-families-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const SEQLEN = 16;
const EVAL = ['--text', DEMO_EVALUATION, '--seqlen', String(SEQLEN), '--max-windows', '3'];

/** The mean NLL the float64 reference forward gives the model folder `dir` on eval's windows. */
async function referenceNll(dir: string): Promise<number> {
  const { model } = await openModel(await openFolder(dir));
  const windows = measureEvaluation(model, readFileSync(DEMO_EVALUATION, 'utf8'), {
    seqlen: SEQLEN,
    maxWindows: 3,
  });
  const tensors = new Map<string, Float32Array>();
  for (const t of model.checkpoint.tensors) tensors.set(t.name, await model.checkpoint.readFloat32(t.name));
  const reference = new ReferenceModel(model.config, (n) => tensors.get(n) as Float32Array, tensors.keys());
  const nll = reference.forwardNll(windows.ids, { sequences: windows.windows, seqLen: SEQLEN });
  return perplexityFromNll(nll, nextTokenTargets(windows.ids, SEQLEN)).meanNll;
}

function printedNll(out: string): number {
  const nll = /perplexity \d+\.\d+ \(mean NLL (\d+\.\d+)/.exec(out)?.[1];
  if (nll === undefined) throw new Error(`no perplexity in:\n${out}`);
  return Number(nll);
}

interface Family {
  name: string;
  shards?: number;
  /** What inspect's features line says. */
  features: RegExp;
  /** Linears prune names in its table that only this family has. */
  linears: RegExp[];
  /** false: inspect and eval only (a family whose model another entry prunes). */
  prune?: false;
}

const FAMILIES: Family[] = [
  { name: 'Qwen/Qwen3-0.6B', features: /features: +q\/k RMSNorm per head$/m, linears: [/self_attn\.q_proj/] },
  {
    name: 'google/gemma-3-270m',
    features:
      /features: +sliding window of 5 tokens on 5 of 6 layers \(RoPE θ=10000\); RMSNorm \(1 \+ w\); norms before and after attention and MLP; embeddings × 5\.65625; attention scale 0\.25; q\/k RMSNorm per head/,
    linears: [/mlp\.gate_proj/],
  },
  {
    name: 'google/gemma-3-1b-pt',
    features: /features: +sliding window of 5 tokens on 5 of 6 layers/,
    linears: [],
  },
  {
    name: 'google/gemma-2-2b',
    features:
      /features: +sliding window of 8 tokens on 1 of 2 layers; attention soft-cap 50; final logit soft-cap 30; RMSNorm \(1 \+ w\)/,
    linears: [],
  },
  {
    name: 'microsoft/Phi-3-mini-4k-instruct',
    features: /features: +sliding window of 7 tokens on every layer; fused qkv_proj and gate_up_proj/,
    linears: [/self_attn\.qkv_proj/, /mlp\.gate_up_proj/],
  },
  {
    name: 'microsoft/Phi-4-mini-instruct',
    features:
      /RoPE θ=10000 \(longrope ×32\)[\s\S]*features: +sliding window of 1024 tokens on every layer; fused qkv_proj and gate_up_proj; rotary on 0\.75 of each head/,
    linears: [/self_attn\.qkv_proj/, /mlp\.gate_up_proj/],
  },
  // An 8-token window, half of each 16-token sequence.
  {
    name: 'mistralai/Mistral-7B-v0.1',
    features: /features: +sliding window of 8 tokens on every layer$/m,
    linears: [],
  },
  {
    name: 'mistralai/Mixtral-8x7B-v0.1',
    features: /features: +8 experts, top 2 renormalised, expert MLP 24$/m,
    linears: [/block_sparse_moe\.experts\.7\.w1/],
  },
  {
    name: 'Qwen/Qwen3-30B-A3B',
    shards: 2,
    features: /features: +16 experts, top 4 renormalised, expert MLP 12; q\/k RMSNorm per head/,
    linears: [/mlp\.experts\.15\.down_proj/],
  },
];

/** The family's tiny checkpoint with the demo tokenizer's 512-token vocabulary. */
const checkpointOf = (name: string, overrides?: Record<string, unknown>) =>
  familyCheckpoint(name, { vocab: 512, overrides });

describe('inspect, eval and prune on every newer family, through the CLI', () => {
  for (const family of FAMILIES) {
    it(`${family.name}`, async () => {
      const checkpoint = checkpointOf(family.name);
      const dir = writeFamilyFolder(join(scratch, family.name.replace('/', '--')), checkpoint, family.shards);
      const modelType = checkpoint.json.model_type as string;

      const inspected = await runCli(['inspect', dir, '--no-tensors']);
      expect(inspected.err).toBe('');
      expect(inspected.code).toBe(0);
      expect(inspected.out).toMatch(new RegExp(`architecture: ${modelType} \\(llama family\\)`));
      expect(inspected.out).toMatch(family.features);
      expect(inspected.out).toMatch(new RegExp(`weights: .*\\(${checkpoint.dtype}\\)`));
      if (family.shards)
        expect(inspected.out).toMatch(/weights: +2 shards via model\.safetensors\.index\.json/);

      const dense = await runCli(['eval', dir, ...EVAL]);
      expect(dense.err).not.toMatch(/error/);
      expect(dense.code).toBe(0);
      // The printed NLL has 5 decimals; float32 on the GPU against float64.
      expect(Math.abs(printedNll(dense.out) - (await referenceNll(dir)))).toBeLessThan(1e-4);
      if (family.prune === false) return;

      const out = join(scratch, `${family.name.replace('/', '--')}-pruned`);
      const json = join(scratch, `${family.name.replace('/', '--')}.json`);
      const pruned = await runCli([
        ...smallPruneArgs(dir, out, ['--sparsity', '0.5', '--json', json, '--seqlen', String(SEQLEN)]),
        '--eval',
        DEMO_EVALUATION,
        '--eval-windows',
        '3',
      ]);
      expect(pruned.err).not.toMatch(/error|warning: (?!Scores the first 3)/);
      expect(pruned.code).toBe(0);
      for (const linear of family.linears) expect(pruned.out).toMatch(linear);
      const result = JSON.parse(readFileSync(json, 'utf8'));
      const layers = result.layers as Array<{ tensor: string; sparsity: number; skipped?: string }>;
      expect(layers.length).toBeGreaterThan(0);
      expect(layers.filter((l) => l.skipped)).toEqual([]);
      const written = await openCheckpoint(await openFolder(out));
      for (const layer of layers) {
        const weights = await written.readFloat32(layer.tensor);
        const zeros = weights.reduce((n, w) => n + (w === 0 ? 1 : 0), 0);
        expect(zeros / weights.length, layer.tensor).toBeGreaterThanOrEqual(0.5 - 1e-9);
      }
      // The dense perplexity prune prints is eval's; the written folder evaluates as the float64 reference does.
      expect(pruned.out).toMatch(
        new RegExp(`dense perplexity: ${/perplexity (\d+\.\d+)/.exec(dense.out)?.[1]}`),
      );
      const after = await runCli(['eval', out, ...EVAL]);
      expect(after.code).toBe(0);
      expect(Math.abs(printedNll(after.out) - (await referenceNll(out)))).toBeLessThan(1e-4);
      expect(printedNll(after.out)).not.toBeCloseTo(printedNll(dense.out), 3);
    }, 300_000);
  }
});

describe('experts the router never picks, through the CLI', () => {
  const checkpoint = checkpointOf('mistralai/Mixtral-8x7B-v0.1');
  const unreachable = withUnreachableExperts(
    checkpoint,
    (l) => `model.layers.${l}.block_sparse_moe.gate.weight`,
  );
  const dir = writeFamilyFolder(join(scratch, 'mixtral-unreachable'), checkpoint);
  const expertTensors = (e: number) =>
    ['w1', 'w3', 'w2'].map((w) => `model.layers.0.block_sparse_moe.experts.${e}.${w}.weight`);

  it('stay dense, byte for byte, with a warning naming each', async () => {
    const out = join(scratch, 'mixtral-routed');
    const json = join(scratch, 'mixtral-routed.json');
    const run = await runCli(smallPruneArgs(dir, out, ['--sparsity', '0.5', '--json', json]));
    expect(run.code).toBe(0);
    for (const block of [0, 1]) {
      for (const e of unreachable) {
        expect(run.err).toMatch(
          new RegExp(
            `warning: block ${block}, expert ${e}: no calibration token was routed to it, so ` +
              `model\\.layers\\.${block}\\.block_sparse_moe\\.experts\\.${e}\\.w1\\.weight, .*w3\\.weight, .*w2\\.weight stay dense`,
          ),
        );
      }
    }
    expect(run.err.match(/^warning:/gm)).toHaveLength(2 * unreachable.length);
    const written = await openCheckpoint(await openFolder(out));
    for (const tensor of expertTensors(unreachable[0])) {
      expect(await written.readFloat32(tensor)).toEqual(checkpoint.tensor(tensor));
    }
    const layers = JSON.parse(readFileSync(json, 'utf8')).layers as Array<{
      tensor: string;
      skipped?: string;
    }>;
    expect(layers.find((l) => l.tensor === expertTensors(unreachable[0])[0])?.skipped).toBe(
      'no calibration token was routed to this expert',
    );
    // A reachable expert is pruned.
    const reached = await written.readFloat32(expertTensors(0)[0]);
    expect(reached.filter((w) => w === 0).length / reached.length).toBeGreaterThanOrEqual(0.5);
  }, 300_000);

  it('are pruned with --expert-calibration all, which calibrates every expert on every token', async () => {
    const out = join(scratch, 'mixtral-all');
    const run = await runCli(smallPruneArgs(dir, out, ['--sparsity', '0.5', '--expert-calibration', 'all']));
    expect(run.err).not.toMatch(/warning|error/);
    expect(run.code).toBe(0);
    const written = await openCheckpoint(await openFolder(out));
    for (const tensor of expertTensors(unreachable[0])) {
      const weights = await written.readFloat32(tensor);
      expect(weights.filter((w) => w === 0).length / weights.length, tensor).toBeGreaterThanOrEqual(0.5);
    }
    const bad = await runCli(
      smallPruneArgs(dir, join(scratch, 'mixtral-bad'), ['--expert-calibration', 'some']),
    );
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--expert-calibration.*routed.*all/);
  }, 300_000);
});

describe('config fields this tool does not model are refused by name through the CLI', () => {
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    [
      'a RoPE type',
      'Qwen/Qwen3-0.6B',
      { rope_scaling: { rope_type: 'mrope', factor: 2, mrope_section: [2, 2, 4] } },
      /"rope_scaling".*rope_type "mrope" is not modelled; supported: default, linear, dynamic, llama3, yarn, longrope/,
    ],
    [
      'a RoPE key that would be ignored',
      'Qwen/Qwen3-0.6B',
      { rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32, mscale: 0.5 } },
      /rope_type yarn with "mscale"/,
    ],
    [
      'chunked attention layers',
      'google/gemma-3-270m',
      { layer_types: ['chunked_attention', ...Array(5).fill('full_attention')] },
      /"layer_types".*layer type "chunked_attention" is not modelled/,
    ],
    [
      'bidirectional attention',
      'google/gemma-3-270m',
      { use_bidirectional_attention: true },
      /"use_bidirectional_attention": true/,
    ],
    [
      'an activation',
      'google/gemma-2-2b',
      { hidden_activation: 'gelu_fast' },
      /"hidden_activation" is "gelu_fast"/,
    ],
  ];
  for (const [what, name, overrides, message] of cases) {
    it(`${what} (${name})`, async () => {
      const dir = join(scratch, `refused-${what.replaceAll(' ', '-')}`);
      writeFamilyFolder(dir, checkpointOf(name));
      // The checkpoint's tensors stay the family's; only config.json carries the field.
      const configPath = join(dir, 'config.json');
      const json = { ...JSON.parse(readFileSync(configPath, 'utf8')), ...overrides };
      writeFileSync(configPath, JSON.stringify(json));
      for (const command of [['inspect', dir], ['eval', dir, ...EVAL], smallPruneArgs(dir, `${dir}-out`)]) {
        const run = await runCli(command);
        expect(run.code, command[0]).toBe(2);
        expect(run.err, command[0]).toMatch(message);
      }
      expect(existsSync(`${dir}-out`)).toBe(false);
    }, 120_000);
  }
});

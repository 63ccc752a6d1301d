/**
 * Per-layer sparsity through the real CLI: `prune --layer-sparsity` inline and from a JSON file, `--allocation owl`
 * with its two hyperparameters; each linear's achieved sparsity (the --json per-layer table, and the written
 * weights) and the written metadata; malformed or unmatched entries exit 2 before any work.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/core/io/checkpoint';
import { openFolder } from '../../src/node/files';
import { DEMO, DEMO_CALIBRATION, runCli } from '../cli';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-layers-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const SMALL = ['--calib', DEMO_CALIBRATION, '--nsamples', '4', '--seqlen', '32', '--quiet'];

interface Layer {
  tensor: string;
  block: number;
  target: number;
  sparsity: number;
  cols: number;
}

async function zeroFraction(folder: string, tensor: string): Promise<number> {
  const values = await (await openCheckpoint(await openFolder(folder))).readFloat32(tensor);
  return values.filter((v) => v === 0).length / values.length;
}

describe('prune with per-layer sparsity', () => {
  it('--layer-sparsity NAME=F entries: the last match wins, every target in the output', async () => {
    const out = join(scratch, 'inline');
    const json = join(scratch, 'inline.json');
    const run = await runCli([
      'prune',
      DEMO,
      ...SMALL,
      '--sparsity',
      '0.5',
      '--layer-sparsity',
      'layers.2.=0.7, model.layers.1.mlp.down_proj.weight=0.25,layers.2.self_attn.q_proj=0.1',
      '--out',
      out,
      '--json',
      json,
    ]);
    expect(run.err).not.toMatch(/error/);
    expect(run.code).toBe(0);
    const expected = (tensor: string) =>
      tensor === 'model.layers.1.mlp.down_proj.weight'
        ? 0.25
        : tensor === 'model.layers.2.self_attn.q_proj.weight'
          ? 0.1
          : tensor.startsWith('model.layers.2.')
            ? 0.7
            : 0.5;
    const layers: Layer[] = JSON.parse(readFileSync(json, 'utf8')).layers;
    expect(layers).toHaveLength(35);
    for (const layer of layers) {
      expect(layer.target, layer.tensor).toBe(expected(layer.tensor));
      expect(Math.abs(layer.sparsity - layer.target), layer.tensor).toBeLessThan(1 / layer.cols);
    }
    // The written weights have those zeros, and the table printed the target beside what was reached.
    expect(await zeroFraction(out, 'model.layers.1.mlp.down_proj.weight')).toBeCloseTo(0.25, 2);
    expect(await zeroFraction(out, 'model.layers.2.mlp.up_proj.weight')).toBeCloseTo(0.7, 2);
    expect(run.out).toMatch(/^1\s+mlp\.down_proj\s+64x172\s+25\.0%\s+25\.0%/m);
    const metadata = (await openCheckpoint(await openFolder(out))).metadata;
    const recorded = JSON.parse(metadata['sparsegpt.layer_sparsity']);
    expect(Object.keys(recorded)).toHaveLength(35);
    for (const [tensor, target] of Object.entries(recorded)) expect(target).toBe(expected(tensor));
  }, 180_000);

  it('--layer-sparsity FILE.json with --allocation owl: OWL per block, the file’s entries over it', async () => {
    const file = join(scratch, 'targets.json');
    writeFileSync(file, JSON.stringify({ 'mlp.down_proj': 0.3 }));
    const out = join(scratch, 'owl');
    const json = join(scratch, 'owl.json');
    const run = await runCli([
      'prune',
      DEMO,
      ...SMALL,
      '--method',
      'wanda',
      '--sparsity',
      '0.6',
      '--allocation',
      'owl',
      '--owl-m',
      '4',
      '--owl-lambda',
      '0.1',
      '--layer-sparsity',
      file,
      '--out',
      out,
      '--json',
      json,
    ]);
    expect(run.code).toBe(0);
    // The allocation is said before the table: one line per block.
    expect(run.err).toMatch(/OWL allocation \(block: outlier ratio → sparsity\):/);
    const said = [...run.err.matchAll(/^\s+(\d+): [\d.]+% → ([\d.]+)%$/gm)].map((m) => Number(m[2]) / 100);
    expect(said).toHaveLength(5);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    const blockSparsity: number[] = result.allocation.blockSparsity;
    expect(blockSparsity.reduce((a, b) => a + b, 0) / 5).toBeCloseTo(0.6, 10);
    for (const s of blockSparsity) expect(Math.abs(s - 0.6)).toBeLessThanOrEqual(0.1 + 1e-12);
    expect(Math.max(...blockSparsity) - Math.min(...blockSparsity)).toBeGreaterThan(0.05);
    said.forEach((s, block) => {
      expect(s).toBeCloseTo(blockSparsity[block], 4);
    });
    for (const layer of result.layers as Layer[]) {
      const target = layer.tensor.endsWith('mlp.down_proj.weight') ? 0.3 : blockSparsity[layer.block];
      expect(layer.target, layer.tensor).toBeCloseTo(target, 12);
      // Wanda zeroes ⌊cols·s⌋ of each row.
      expect(layer.sparsity, layer.tensor).toBeCloseTo(Math.floor(layer.cols * target) / layer.cols, 6);
    }
    const metadata = (await openCheckpoint(await openFolder(out))).metadata;
    expect(metadata['sparsegpt.allocation']).toBe('owl');
    expect(metadata['sparsegpt.owl_threshold']).toBe('4');
    expect(metadata['sparsegpt.owl_lambda']).toBe('0.1');
    expect(JSON.parse(metadata['sparsegpt.owl_block_sparsity'])).toHaveLength(5);
  }, 180_000);

  it('refuses malformed or unmatched per-layer options with exit code 2', async () => {
    const out = join(scratch, 'never');
    const bad = join(scratch, 'bad.json');
    writeFileSync(bad, '{"mlp.down_proj": "half"}');
    const cases: Array<[string[], RegExp]> = [
      [['--layer-sparsity', 'mlp.down_proj=0.3,layers.0.'], /"layers\.0\." is not NAME=F/],
      [
        ['--layer-sparsity', 'mlp.down_proj=1.2'],
        /per-layer sparsity of "mlp\.down_proj" must be at least 0 and below 1/,
      ],
      [['--layer-sparsity', 'mlp.up=0.3'], /"mlp\.up" in the per-layer targets matches no prunable linear/],
      [['--layer-sparsity', join(scratch, 'missing.json')], /cannot read the file \(ENOENT\)/],
      [['--layer-sparsity', bad], /each entry maps a name to a number/],
      [
        ['--pattern', '2:4', '--layer-sparsity', 'mlp.down_proj=0.3'],
        /Per-layer targets set unstructured sparsities/,
      ],
      [['--owl-lambda', '0.1'], /add --allocation owl/],
      [['--allocation', 'owl', '--owl-lambda', '0.9'], /OWL's λ must be from 0 to 0\.5/],
      [['--allocation', 'random'], /--allocation must be one of uniform, owl/],
    ];
    for (const [extra, message] of cases) {
      const result = await runCli(['prune', DEMO, ...SMALL, '--out', out, ...extra]);
      expect(result.err, extra.join(' ')).toMatch(message);
      expect(result.code, extra.join(' ')).toBe(2);
    }
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});

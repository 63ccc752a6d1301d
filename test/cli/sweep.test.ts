/**
 * `sparsegpt sweep` through the real CLI on the demo: a table row per finished point, CSV and JSON that a `prune`
 * of the same point agrees with, nothing else written; Ctrl-C keeps the finished points; --save writes each
 * point's model; bad usage exits 2 before any work.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/core/io/checkpoint';
import { openFolder } from '../../src/node/files';
import { DEMO, DEMO_CALIBRATION, DEMO_EVALUATION, runCli, waitForOutput } from '../cli';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-sweep-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The demo with the small calibration (4 × 32 tokens) and 2 evaluation windows the CLI tests use. */
const SMALL = [
  '--calib',
  DEMO_CALIBRATION,
  '--eval',
  DEMO_EVALUATION,
  '--nsamples',
  '4',
  '--seqlen',
  '32',
  '--eval-windows',
  '2',
  '--quiet',
];

function readCsv(path: string): Array<Record<string, string>> {
  const [header, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const names = header.split(',');
  return rows.map((row) => Object.fromEntries(row.split(',').map((cell, i) => [names[i], cell])));
}

describe('sparsegpt sweep', () => {
  it('runs methods × sparsities, prints a row per point, and writes CSV and JSON that prune agrees with', async () => {
    const folder = join(scratch, 'plain');
    mkdirSync(folder);
    const csv = join(folder, 'sweep.csv');
    const json = join(folder, 'sweep.json');
    const sweep = await runCli([
      'sweep',
      DEMO,
      '--methods',
      'sparsegpt,magnitude',
      '--sparsities',
      '0.6,0.3',
      ...SMALL,
      '--csv',
      csv,
      '--json',
      json,
    ]);
    expect(sweep.err).not.toMatch(/error/);
    expect(sweep.code).toBe(0);
    const rows = sweep.out.split('\n').filter((line) => /^(sparsegpt|magnitude) /.test(line));
    expect(rows.map((r) => r.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'sparsegpt 30%',
      'magnitude 30%',
      'sparsegpt 60%',
      'magnitude 60%',
    ]);
    const points = readCsv(csv);
    expect(points.map((p) => `${p.method} ${p.target_sparsity}`)).toEqual([
      'sparsegpt 0.3',
      'magnitude 0.3',
      'sparsegpt 0.6',
      'magnitude 0.6',
    ]);
    const dense = Number(/dense perplexity: (\S+)/.exec(sweep.out)?.[1]);
    for (const point of points) {
      expect(Number(point.dense_perplexity)).toBeCloseTo(dense, 3);
      expect(Math.abs(Number(point.sparsity_pruned_layers) - Number(point.target_sparsity))).toBeLessThan(
        0.01,
      );
      expect(Number(point.pruned_perplexity)).toBeGreaterThan(dense);
    }
    // More zeros, worse perplexity, for each method.
    for (const method of ['sparsegpt', 'magnitude']) {
      const [low, high] = points.filter((p) => p.method === method).map((p) => Number(p.pruned_perplexity));
      expect(high).toBeGreaterThan(low);
    }
    const record = JSON.parse(readFileSync(json, 'utf8'));
    expect(record.stopped).toBe(false);
    expect(record.points).toHaveLength(4);
    expect(record.calibration).toEqual({ nsamples: 4, seqlen: 32, textTokens: expect.any(Number) });
    // Nothing but the two files was written.
    expect(readdirSync(folder).sort()).toEqual(['sweep.csv', 'sweep.json']);

    // The same point through `prune`: the same perplexity.
    const out = join(scratch, 'one-point');
    const single = await runCli([
      'prune',
      DEMO,
      '--method',
      'magnitude',
      '--sparsity',
      '0.6',
      '--out',
      out,
      ...SMALL,
    ]);
    expect(single.code).toBe(0);
    const pruned = Number(/pruned perplexity: (\S+)/.exec(single.out)?.[1]);
    expect(Number(points[3].pruned_perplexity)).toBeCloseTo(pruned, 3);
  }, 300_000);

  it('stops on Ctrl-C within a point and keeps the finished points in the CSV and JSON', async () => {
    const csv = join(scratch, 'stopped.csv');
    const json = join(scratch, 'stopped.json');
    const stopped = await runCli(
      [
        'sweep',
        DEMO,
        '--methods',
        'magnitude',
        '--sparsities',
        '0.2,0.4,0.6,0.8',
        ...SMALL,
        '--csv',
        csv,
        '--json',
        json,
      ],
      {
        onStart: (child, output) => {
          // Once the first point's row is out, the second point is running.
          void waitForOutput(output, (out) => /^magnitude\s+20%/m.test(out)).then(() => child.kill('SIGINT'));
        },
      },
    );
    expect(stopped.code).toBe(130);
    expect(stopped.err).toMatch(/stopped \(SIGINT\): \d of 4 points finished, kept in/);
    const points = readCsv(csv);
    expect(points.length).toBeGreaterThanOrEqual(1);
    expect(points.length).toBeLessThan(4);
    expect(points[0]).toMatchObject({ method: 'magnitude', target_sparsity: '0.2' });
    const record = JSON.parse(readFileSync(json, 'utf8'));
    expect(record).toMatchObject({ stopped: true });
    expect(record.points).toHaveLength(points.length);
  }, 300_000);

  it('--save writes each point’s pruned model folder, with its settings in the metadata', async () => {
    const save = join(scratch, 'saved');
    const run = await runCli([
      'sweep',
      DEMO,
      '--methods',
      'magnitude',
      '--patterns',
      '2:4',
      ...SMALL,
      '--save',
      save,
    ]);
    expect(run.code).toBe(0);
    expect(readdirSync(save)).toEqual(['stories260K-magnitude-2of4']);
    const written = await openCheckpoint(await openFolder(join(save, 'stories260K-magnitude-2of4')));
    expect(written.metadata['sparsegpt.method']).toBe('magnitude');
    expect(written.metadata['sparsegpt.pattern']).toBe('2:4');
  }, 300_000);

  it('gives every point prune’s shared options, and --force replaces an earlier output of its own', async () => {
    const save = join(scratch, 'forced');
    const json = join(scratch, 'forced.json');
    const argv = [
      'sweep',
      DEMO,
      '--methods',
      'magnitude',
      '--sparsities',
      '0.4',
      ...SMALL,
      '--skip',
      'layers.0.',
      '--allocation',
      'owl',
      '--owl-lambda',
      '0.05',
      '--save',
      save,
      '--json',
      json,
    ];
    const first = await runCli(argv);
    expect(first.code).toBe(0);
    expect(JSON.parse(readFileSync(json, 'utf8')).settings).toMatchObject({
      skipLayers: ['layers.0.'],
      allocation: 'owl',
      owlLambda: 0.05,
    });
    const folder = join(save, 'stories260K-magnitude-40pct');
    const written = await openCheckpoint(await openFolder(folder));
    expect(written.metadata['sparsegpt.allocation']).toBe('owl');
    const zeros = async (tensor: string) => {
      const values = await written.readFloat32(tensor);
      return values.filter((v) => v === 0).length / values.length;
    };
    expect(await zeros('model.layers.0.mlp.up_proj.weight')).toBe(0);
    expect(Math.abs((await zeros('model.layers.1.mlp.up_proj.weight')) - 0.4)).toBeLessThanOrEqual(
      0.05 + 0.01,
    );

    const again = await runCli(argv);
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(/stories260K-magnitude-40pct already exists and is not empty/);
    const forced = await runCli([...argv, '--force']);
    expect(forced.code).toBe(0);
    expect(readdirSync(save)).toEqual(['stories260K-magnitude-40pct']);
  }, 300_000);

  it('refuses bad usage with exit code 2 before any work', async () => {
    const csv = join(scratch, 'never.csv');
    const base = ['sweep', DEMO, '--calib', DEMO_CALIBRATION, '--csv', csv];
    const evaluation = ['--eval', DEMO_EVALUATION];
    const cases: Array<[string[], RegExp]> = [
      [[...base, '--methods', 'sparsegpt', '--sparsities', '0.5'], /--eval FILE is required/],
      [[...base, ...evaluation, '--sparsities', '0.5'], /--methods LIST is required/],
      [
        [...base, ...evaluation, '--methods', 'sparsegpt,random', '--sparsities', '0.5'],
        /unknown method "random"/,
      ],
      [[...base, ...evaluation, '--methods', 'wanda'], /at least one sparsity or N:M pattern/],
      [
        [...base, ...evaluation, '--methods', 'wanda', '--sparsities', '0.5,1'],
        /100%: Sparsity must be at least 0 and below 1/,
      ],
      [
        [...base, ...evaluation, '--methods', 'wanda', '--sparsities', 'half'],
        /--sparsities: "half" is not a number/,
      ],
      [
        [...base, ...evaluation, '--methods', 'wanda', '--patterns', '4:2'],
        /4:2: An N:M pattern needs whole numbers/,
      ],
      [
        [...base, ...evaluation, '--methods', 'wanda', '--patterns', '2:4', '--allocation', 'owl'],
        /2:4: The OWL allocation spreads an unstructured sparsity/,
      ],
      [
        [
          ...base,
          ...evaluation,
          '--methods',
          'wanda',
          '--sparsities',
          '0.5',
          '--layer-sparsity',
          'nothing.here=0.3',
        ],
        /"nothing\.here" in the per-layer targets matches no prunable linear/,
      ],
    ];
    for (const [argv, message] of cases) {
      const result = await runCli(argv);
      expect(result.err, argv.join(' ')).toMatch(message);
      expect(result.code, argv.join(' ')).toBe(2);
    }
    expect(existsSync(csv)).toBe(false);
  }, 120_000);
});

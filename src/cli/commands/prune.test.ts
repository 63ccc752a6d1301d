/**
 * The CLI twin end to end on the demo model: `prune` writes a complete folder that `eval` and the reader accept;
 * bad usage and an occupied output folder exit 2 without touching anything.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openCheckpoint } from '../../core/io/checkpoint';
import { openFolder } from '../../node/files';
import { runCommand } from './index';

const demo = new URL('../../../public/demo/stories260K/', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  try {
    return { code: await runCommand(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

const SMALL = ['--nsamples', '4', '--seqlen', '32', '--quiet'];

describe('sparsegpt prune / eval', () => {
  it('prunes the demo model 2:4 into a complete folder that eval reads back', async () => {
    const out = join(scratch, 'pruned');
    const json = join(scratch, 'result.json');
    const pruned = await run([
      'prune',
      demo,
      '--pattern',
      '2:4',
      '--calib',
      join(demo, 'calibration.txt'),
      '--eval',
      join(demo, 'evaluation.txt'),
      '--eval-windows',
      '2',
      '--out',
      out,
      '--json',
      json,
      ...SMALL,
    ]);
    expect(pruned.err).not.toMatch(/error/);
    expect(pruned.code).toBe(0);
    expect(pruned.out).toMatch(/self_attn\.q_proj/);
    expect(pruned.out).toMatch(/pruned perplexity: \d/);
    expect(readdirSync(out)).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']),
    );
    expect(readdirSync(scratch).filter((name) => name.includes('partial'))).toEqual([]);
    const written = await openCheckpoint(await openFolder(out));
    expect(written.metadata['sparsegpt.pattern']).toBe('2:4');
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.layers).toHaveLength(35);
    // The run's own time breakdown: the stages account for its time, each stage of a SparseGPT run took some.
    const { timings } = result;
    const stages = Object.values(timings.stages) as number[];
    const staged = stages.reduce((sum, ms) => sum + ms, 0);
    expect(stages.every((ms) => ms >= 0)).toBe(true);
    expect(staged).toBeLessThanOrEqual(timings.sessionMs + 1);
    expect(staged).toBeGreaterThan(0.9 * timings.sessionMs);
    for (const stage of ['reading', 'calibrationForward', 'hessians', 'prepare', 'walk', 'lazyUpdate']) {
      expect(timings.stages[stage], stage).toBeGreaterThan(0);
    }
    for (const stage of ['errorMetric', 'readback', 'writing', 'rerun', 'evaluation']) {
      expect(timings.stages[stage], stage).toBeGreaterThan(0);
    }
    expect(timings.firstResultMs).toBeGreaterThan(0);
    expect(timings.firstResultMs).toBeLessThan(timings.sessionMs);
    // The first result (block 0's q_proj) comes before the block's dense forward: no evaluation window has moved
    // and no block has re-run by then, only the q|k|v input's pass over the calibration samples.
    const before = timings.stagesBeforeFirstResult;
    expect(before.evaluation).toBe(0);
    expect(before.rerun).toBe(0);
    expect(before.calibrationForward).toBeGreaterThan(0);
    expect(before.hessians).toBeGreaterThan(0);
    // Every pruned linear comes back once; the demo's weights (1 MiB of F32) go up at least once.
    expect(timings.readbacks.count).toBeGreaterThanOrEqual(35);
    expect(timings.uploads.bytes).toBeGreaterThan(900_000);
    expect(timings.dtypeConversion.bytes).toBeGreaterThan(900_000);
    const evaluated = await run([
      'eval',
      out,
      '--text',
      join(demo, 'evaluation.txt'),
      '--seqlen',
      '32',
      '--max-windows',
      '2',
    ]);
    expect(evaluated.code).toBe(0);
    const perplexity = Number(/perplexity (\S+)/.exec(evaluated.out)?.[1]);
    expect(perplexity).toBeCloseTo(result.pruned.perplexity, 3);
  }, 120_000);

  it('refuses an occupied output folder and leaves it as it was', async () => {
    const out = join(scratch, 'occupied');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    const result = await run([
      'prune',
      demo,
      '--calib',
      join(demo, 'calibration.txt'),
      '--out',
      out,
      ...SMALL,
    ]);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/already exists and is not empty/);
    expect(readdirSync(out)).toEqual(['keep.txt']);
  });

  it('explains bad usage with exit code 2', async () => {
    const calib = join(demo, 'calibration.txt');
    const cases: Array<[string[], RegExp]> = [
      [['prune', demo, '--out', join(scratch, 'x')], /--calib FILE is required/],
      [
        ['prune', demo, '--calib', calib, '--out', join(scratch, 'x'), '--pattern', '4:2'],
        /--pattern: An N:M pattern needs whole numbers with 1 ≤ N < M .*got 4:2\./,
      ],
      [['prune', demo, '--calib', calib, '--out', join(scratch, 'x'), '--sparsity', '1'], /below 1/],
      [
        ['prune', demo, '--calib', calib, '--out', join(scratch, 'x'), '--method', 'random'],
        /--method must be/,
      ],
      [['prune', join(scratch, 'nowhere'), '--calib', calib, '--out', join(scratch, 'x')], /cannot open/],
      [['prune', demo, '--calib', join(scratch, 'none.txt'), '--out', join(scratch, 'x')], /cannot read/],
      [['eval', demo], /--text FILE is required/],
    ];
    for (const [argv, message] of cases) {
      const result = await run(argv);
      expect(result.err).toMatch(message);
      expect(result.code).toBe(2);
    }
    expect(existsSync(join(scratch, 'x'))).toBe(false);
  }, 60_000);
});

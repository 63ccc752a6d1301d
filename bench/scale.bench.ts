/**
 * `npm run bench:scale`: peak memory must not grow with depth. Builds synthetic Llama checkpoints of one width
 * with 4×, 16× and 64× the layers of a one-layer base, streamed to disk tensor by tensor (never whole in memory),
 * prunes each through the CLI in a fresh process, and prints each run's peak process RSS and peak GPU buffer
 * bytes, and largest over smallest (goal: below 1.2).
 *
 *   node bin/run-ts.mjs bench/scale.bench.ts [--hidden 128] [--multiples 4,16,64] [--keep]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_DIR, llamaIntermediate, writeSyntheticLlama } from './synthetic-llama';

const { values } = parseArgs({
  options: {
    hidden: { type: 'string', default: '128' },
    multiples: { type: 'string', default: '4,16,64' },
    keep: { type: 'boolean', default: false },
  },
});
const hidden = Number(values.hidden);
const intermediate = llamaIntermediate(hidden);
const heads = Math.max(1, hidden / 32);
const root = new URL('..', import.meta.url).pathname;
const demo = DEMO_DIR;

function writeModel(dir: string, layers: number): Promise<number> {
  return writeSyntheticLlama(dir, { hidden, intermediate, heads, kvHeads: heads, layers, maxPositions: 512 });
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

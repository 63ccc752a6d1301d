/**
 * The README's OWL against uniform sparsity on the demo: SparseGPT and Wanda at 50%, 60% and 70%, each pruned with
 * the same sparsity everywhere and with the OWL allocation (the paper's M = 5, λ = 0.08 unless given), scored on
 * the demo's evaluation text. Calibration as in eval-table.ts (a different text from the evaluation). Prints a
 * Markdown table; `--out FILE` also writes it.
 *
 *   node bin/run-ts.mjs scripts/owl-table.ts [--nsamples 32] [--seqlen 256] [--eval-windows 16] [--seeds 0,1]
 *     [--owl-m 5] [--owl-lambda 0.08] [--out FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openModel } from '../src/core/pipeline/open-model';
import { pruneModel } from '../src/core/pipeline/prune-model';
import { DEFAULT_SETTINGS, type PruneSettings } from '../src/core/pipeline/types';
import { OWL_DEFAULTS } from '../src/core/settings/prune-settings';
import { openFolder } from '../src/node/files';
import { createNodeGpuContext } from '../src/node/gpu';
import { DEMO_CALIBRATION_TEXT, DEMO_EVALUATION_TEXT, DEMO_MODEL_DIR } from './demo-texts';

const { values } = parseArgs({
  options: {
    nsamples: { type: 'string', default: '32' },
    seqlen: { type: 'string', default: '256' },
    'eval-windows': { type: 'string', default: '16' },
    seeds: { type: 'string', default: '0' },
    'owl-m': { type: 'string', default: String(OWL_DEFAULTS.threshold) },
    'owl-lambda': { type: 'string', default: String(OWL_DEFAULTS.lambda) },
    out: { type: 'string' },
  },
});
const modelDir = DEMO_MODEL_DIR;
const calibration = DEMO_CALIBRATION_TEXT;
const evaluation = DEMO_EVALUATION_TEXT;

const SPARSITIES = [0.5, 0.6, 0.7];
const METHODS = ['sparsegpt', 'wanda'] as const;
const seeds = values.seeds.split(',').map(Number);

const ctx = await createNodeGpuContext();
const { model } = await openModel(await openFolder(modelDir.pathname));
const base: PruneSettings = {
  ...DEFAULT_SETTINGS,
  nsamples: Number(values.nsamples),
  seqlen: Number(values.seqlen),
  evalMaxWindows: Number(values['eval-windows']),
  owlThreshold: Number(values['owl-m']),
  owlLambda: Number(values['owl-lambda']),
};

/** Mean perplexity over the calibration seeds. */
async function perplexity(
  settings: PruneSettings,
): Promise<{ pruned: number; dense?: number; range?: string }> {
  let sum = 0;
  let dense: number | undefined;
  let range: string | undefined;
  for (const seed of seeds) {
    const { result } = await pruneModel(ctx, model, { ...settings, seed }, { calibration, evaluation });
    sum += result.pruned?.perplexity ?? Number.NaN;
    console.error(
      `${settings.method} ${settings.sparsity} ${settings.allocation} seed ${seed}: ${result.pruned?.perplexity.toFixed(3)}`,
    );
    dense = result.dense?.perplexity;
    if (result.allocation) {
      const s = result.allocation.blockSparsity;
      range = `${(Math.min(...s) * 100).toFixed(1)}–${(Math.max(...s) * 100).toFixed(1)}%`;
    }
  }
  return { pruned: sum / seeds.length, dense, range };
}

const rows: string[] = [];
let dense: number | undefined;
for (const method of METHODS) {
  for (const sparsity of SPARSITIES) {
    const settings = { ...base, method, sparsity };
    const uniform = await perplexity({ ...settings, allocation: 'uniform' });
    const owl = await perplexity({ ...settings, allocation: 'owl' });
    dense = uniform.dense;
    const change = ((owl.pruned / uniform.pruned - 1) * 100).toFixed(1);
    const row = `| ${method} | ${sparsity * 100}% | ${uniform.pruned.toFixed(3)} | ${owl.pruned.toFixed(3)} | ${Number(change) > 0 ? '+' : ''}${change}% | ${owl.range} |`;
    console.error(row);
    rows.push(row);
  }
}
const table = [
  `Dense perplexity ${dense?.toFixed(3)}; calibration ${base.nsamples} × ${base.seqlen} tokens` +
    `${seeds.length > 1 ? ` (mean over calibration seeds ${seeds.join(', ')})` : ''}, evaluation ` +
    `${base.evalMaxWindows} windows of ${base.seqlen} on a different text; OWL M = ${base.owlThreshold}, ` +
    `λ = ${base.owlLambda}; adapter: ${ctx.adapter.name}.`,
  '',
  '| method | sparsity | uniform | OWL | OWL vs uniform | OWL blocks |',
  '|---|---|---|---|---|---|',
  ...rows,
].join('\n');
ctx.destroy();
console.log(table);
if (values.out) writeFileSync(values.out, `${table}\n`);
process.exit(0);

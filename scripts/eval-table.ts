/**
 * `npm run eval:table`: the README's table of model × method × pattern → perplexity and time. Calibration and
 * evaluation use different texts: calibration from the first 140 KB of the shared stories260K samples, evaluation
 * the demo's evaluation.txt (the samples' last 33 KB). Prints a Markdown table; `--out FILE` also writes it.
 *
 *   node bin/run-ts.mjs scripts/eval-table.ts [--nsamples 32] [--seqlen 256] [--eval-windows 16] [--out FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openModel } from '../src/core/pipeline/open-model';
import { pruneModel } from '../src/core/pipeline/prune-model';
import { DEFAULT_SETTINGS, type PruneSettings, type SparsityPattern } from '../src/core/pipeline/types';
import { openFolder } from '../src/node/files';
import { createNodeGpuContext } from '../src/node/gpu';
import { DEMO_CALIBRATION_TEXT, DEMO_EVALUATION_TEXT, DEMO_MODEL_DIR } from './demo-texts';
import { ggufTable } from './gguf-table';

const { values } = parseArgs({
  options: {
    nsamples: { type: 'string', default: '32' },
    seqlen: { type: 'string', default: '256' },
    'eval-windows': { type: 'string', default: '16' },
    out: { type: 'string' },
  },
});
const modelDir = DEMO_MODEL_DIR;
const calibration = DEMO_CALIBRATION_TEXT;
const evaluation = DEMO_EVALUATION_TEXT;

const SETTINGS: Array<{ label: string; sparsity: number; pattern: SparsityPattern }> = [
  { label: '50%', sparsity: 0.5, pattern: 'unstructured' },
  { label: '60%', sparsity: 0.6, pattern: 'unstructured' },
  { label: '70%', sparsity: 0.7, pattern: 'unstructured' },
  { label: '2:4', sparsity: 0.5, pattern: { n: 2, m: 4 } },
  { label: '4:8', sparsity: 0.5, pattern: { n: 4, m: 8 } },
];
const METHODS = ['sparsegpt', 'wanda', 'magnitude'] as const;

const ctx = await createNodeGpuContext();
const { model, summary } = await openModel(await openFolder(modelDir.pathname));
const base: PruneSettings = {
  ...DEFAULT_SETTINGS,
  nsamples: Number(values.nsamples),
  seqlen: Number(values.seqlen),
  evalMaxWindows: Number(values['eval-windows']),
};
const rows: string[] = [];
let dense: number | undefined;
for (const setting of SETTINGS) {
  const cells: string[] = [];
  for (const method of METHODS) {
    const settings = { ...base, method, sparsity: setting.sparsity, pattern: setting.pattern };
    const { result } = await pruneModel(ctx, model, settings, { calibration, evaluation });
    dense = result.dense?.perplexity;
    const skipped = result.layers.filter((l) => l.skipped).length;
    cells.push(
      `${result.pruned?.perplexity.toFixed(3)}${skipped ? `†` : ''} (${(result.totalMs / 1000).toFixed(0)} s)`,
    );
    console.error(`${setting.label} ${method}: ${cells.at(-1)}`);
  }
  rows.push(`| ${summary.name} | ${setting.label} | ${cells.join(' | ')} |`);
}
const table = [
  `Dense perplexity ${dense?.toFixed(3)}; calibration ${base.nsamples} × ${base.seqlen} tokens, evaluation ` +
    `${base.evalMaxWindows} windows of ${base.seqlen} on a different text; adapter: ${ctx.adapter.name}.`,
  '',
  '| model | sparsity | SparseGPT | Wanda | magnitude |',
  '|---|---|---|---|---|',
  ...rows,
  '',
  '† linears whose input width is not a multiple of M stay dense (a warning says which).',
].join('\n');
ctx.destroy();
const gguf = await ggufTable(base.seqlen, base.evalMaxWindows ?? 16, {
  text: calibration,
  nsamples: base.nsamples,
});
console.log(`${table}\n\n${gguf}`);
if (values.out) writeFileSync(values.out, `${table}\n\n${gguf}\n`);
process.exit(0);

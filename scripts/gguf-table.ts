/**
 * The GGUF rows of the README's results, scored by llama.cpp itself (node-llama-cpp's CPU build, F32 KV cache) on
 * the demo's evaluation text, with file sizes: the demo model exported by export-gguf's core (round-to-nearest) at
 * each type, and written by `sparsegpt prune --quantize … --out FILE.gguf` (the CLI as a child process): GPTQ at
 * each type, SparseGPT 50% and 2:4 jointly with Q4_0 against pruning then rounding (`--quantize rtn:q4_0`).
 * `npm run eval:table` runs it after the pruning table (with its calibration); alone:
 *
 *   node bin/run-ts.mjs scripts/gguf-table.ts [--nsamples 32] [--seqlen 256] [--eval-windows 16] [--out FILE]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluationWindows } from '../src/core/eval/perplexity-windows';
import { formatFileSize as formatBytes } from '../src/core/format-bytes';
import { planGgufExport, writeGgufExport } from '../src/core/gguf/export';
import { FILE_TYPE_INFO, type GgufFileType } from '../src/core/gguf/recipe';
import { loadModelConfig } from '../src/core/model/config';
import { loadTokenizer } from '../src/core/tokenizer/load-tokenizer';
import { fileByteSink, openFolder } from '../src/node/files';
import { llamaNll, withLlamaModel } from '../test/llama-cpp/llama';
import { DEMO_CALIBRATION_TEXT } from './demo-texts';

const CLI = new URL('../bin/sparsegpt.mjs', import.meta.url).pathname;

/** The rows written by `sparsegpt prune … --out FILE.gguf`: label, options. */
const PRUNED_ROWS: Array<[string, string[]]> = [
  ['dense, GPTQ Q8_0', ['--quantize', 'q8_0']],
  ['dense, GPTQ Q4_0', ['--quantize', 'q4_0']],
  ['dense, GPTQ Q4_K_M', ['--quantize', 'q4_k_m']],
  ['SparseGPT 50%, F32', ['--sparsity', '0.5']],
  ['SparseGPT 50%, then RTN Q4_0', ['--sparsity', '0.5', '--quantize', 'rtn:q4_0']],
  ['SparseGPT 50% + GPTQ Q4_0 jointly', ['--sparsity', '0.5', '--quantize', 'q4_0']],
  ['SparseGPT 2:4, then RTN Q4_0', ['--pattern', '2:4', '--quantize', 'rtn:q4_0']],
  ['SparseGPT 2:4 + GPTQ Q4_0 jointly', ['--pattern', '2:4', '--quantize', 'q4_0']],
];

/** The table as Markdown. */
export async function ggufTable(
  seqlen: number,
  evalWindows: number,
  calibration: { text: string; nsamples: number },
): Promise<string> {
  const modelDir = new URL('../public/demo/stories260K/', import.meta.url).pathname;
  const folder = await openFolder(modelDir);
  const tokenizer = await loadTokenizer(folder, await loadModelConfig(folder));
  const text = readFileSync(join(modelDir, 'evaluation.txt'), 'utf8');
  const windows = evaluationWindows(tokenizer.encode(text), seqlen, evalWindows);
  const rows = Array.from({ length: windows.windows }, (_, w) =>
    Array.from(windows.ids.subarray(w * seqlen, (w + 1) * seqlen)),
  );
  const scratch = mkdtempSync(join(tmpdir(), 'gguf-table-'));
  const lines: string[] = [];
  let inputBytes = 0;
  const score = async (path: string) => {
    const nll = await withLlamaModel(path, (model) => llamaNll(model, rows));
    return Math.exp(nll.reduce((a, b) => a + b, 0) / nll.length);
  };
  const calibPath = join(scratch, 'calibration.txt');
  writeFileSync(calibPath, calibration.text);
  try {
    for (const type of ['f32', 'q8_0', 'q4_0', 'q4_k_m'] as GgufFileType[]) {
      const plan = await planGgufExport(folder, type);
      inputBytes = plan.inputBytes;
      const path = join(scratch, `${type}.gguf`);
      await writeGgufExport(await fileByteSink(path), plan);
      const perplexity = await score(path);
      const label = FILE_TYPE_INFO[type].label;
      lines.push(
        `| ${folder.name} | dense, RTN ${label} | ${perplexity.toFixed(3)} | ${formatBytes(plan.layout.fileBytes)} |`,
      );
      console.error(lines.at(-1));
    }
    for (const [label, args] of PRUNED_ROWS) {
      const path = join(scratch, 'pruned.gguf');
      const common = [
        '--calib',
        calibPath,
        '--nsamples',
        String(calibration.nsamples),
        '--seqlen',
        String(seqlen),
      ];
      const run = spawnSync(
        process.execPath,
        [CLI, 'prune', modelDir, ...common, ...args, '--out', path, '--force', '--quiet'],
        {
          encoding: 'utf8',
        },
      );
      if (run.status !== 0) throw new Error(`prune ${args.join(' ')} failed: ${run.stderr.slice(-2000)}`);
      lines.push(
        `| ${folder.name} | ${label} | ${(await score(path)).toFixed(3)} | ${formatBytes(statSync(path).size)} |`,
      );
      console.error(lines.at(-1));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return [
    "llama.cpp's perplexity of the demo's GGUF files (RTN: export-gguf, round-to-nearest with llama.cpp's rules; " +
      `the others: prune --quantize, calibration ${calibration.nsamples} × ${seqlen} tokens), ${windows.windows} windows ` +
      `of ${seqlen} on the evaluation text, F32 KV cache; input weights ${formatBytes(inputBytes)} (F32).`,
    '',
    '| model | weights | llama.cpp perplexity | file size |',
    '|---|---|---|---|',
    ...lines,
  ].join('\n');
}

if (process.argv[1]?.endsWith('scripts/gguf-table.ts')) {
  const { values } = parseArgs({
    options: {
      nsamples: { type: 'string', default: '32' },
      seqlen: { type: 'string', default: '256' },
      'eval-windows': { type: 'string', default: '16' },
      out: { type: 'string' },
    },
  });
  const table = await ggufTable(Number(values.seqlen), Number(values['eval-windows']), {
    text: DEMO_CALIBRATION_TEXT,
    nsamples: Number(values.nsamples),
  });
  console.log(table);
  if (values.out) writeFileSync(values.out, `${table}\n`);
  process.exit(0);
}

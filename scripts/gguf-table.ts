/**
 * The GGUF rows of the README's results: the demo model exported by export-gguf's core (round-to-nearest) at each
 * type, scored by llama.cpp itself (node-llama-cpp's CPU build, F32 KV cache) on the demo's evaluation text, with
 * file sizes. `npm run eval:table` runs it after the pruning table; alone:
 *
 *   node bin/run-ts.mjs scripts/gguf-table.ts [--seqlen 256] [--eval-windows 16] [--out FILE]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** The table as Markdown. */
export async function ggufTable(seqlen: number, evalWindows: number): Promise<string> {
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
  try {
    for (const type of ['f32', 'q8_0', 'q4_0', 'q4_k_m'] as GgufFileType[]) {
      const plan = await planGgufExport(folder, type);
      inputBytes = plan.inputBytes;
      const path = join(scratch, `${type}.gguf`);
      await writeGgufExport(await fileByteSink(path), plan);
      const nll = await withLlamaModel(path, (model) => llamaNll(model, rows));
      const perplexity = Math.exp(nll.reduce((a, b) => a + b, 0) / nll.length);
      const label = FILE_TYPE_INFO[type].label;
      lines.push(
        `| ${folder.name} | dense, RTN ${label} | ${perplexity.toFixed(3)} | ${formatBytes(plan.layout.fileBytes)} |`,
      );
      console.error(lines.at(-1));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return [
    "llama.cpp's perplexity of the demo's GGUF exports (export-gguf: round-to-nearest with llama.cpp's rules), " +
      `${windows.windows} windows of ${seqlen} on the evaluation text, F32 KV cache; input weights ` +
      `${formatBytes(inputBytes)} (F32).`,
    '',
    '| model | weights | llama.cpp perplexity | file size |',
    '|---|---|---|---|',
    ...lines,
  ].join('\n');
}

if (process.argv[1]?.endsWith('scripts/gguf-table.ts')) {
  const { values } = parseArgs({
    options: {
      seqlen: { type: 'string', default: '256' },
      'eval-windows': { type: 'string', default: '16' },
      out: { type: 'string' },
    },
  });
  const table = await ggufTable(Number(values.seqlen), Number(values['eval-windows']));
  console.log(table);
  if (values.out) writeFileSync(values.out, `${table}\n`);
  process.exit(0);
}

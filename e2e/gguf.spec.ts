/**
 * One .gguf file from the app: prune the demo at 50% with 4-bit GPTQ (Q4_0) and the output format "One .gguf file";
 * the download is that one file (no ZIP). llama.cpp itself (node-llama-cpp's CPU build) loads it, and its perplexity
 * on the app's evaluation windows is within the CLI tests' 5e-3 of our own forward's (the float64 reference) on the
 * file's dequantized weights, which is close to the pruned perplexity the app showed (the file holds the linears the
 * app scored, and rounds the embeddings and head besides). The result card's sizes are the input's weight bytes and
 * the file's real size.
 */
import { readFile, stat } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { nextTokenTargets, perplexityFromNll } from '../src/core/eval/perplexity-windows';
import { formatBytes } from '../src/core/format-bytes';
import { referenceOf } from '../src/core/generate/generate.reference';
import { readGgufHeader } from '../src/core/gguf/reader';
import { openGgufForward } from '../src/core/pipeline/forward-model';
import { measureEvaluation, openModel } from '../src/core/pipeline/open-model';
import { fileByteSource, openFolder } from '../src/node/files';
import { llamaNll, withLlamaModel } from '../test/llama-cpp/llama';
import { DEMO_FOLDER, dropDemoForDownload } from './support';

test('50% + Q4_0 as one .gguf file: llama.cpp runs the download as our forward scores it', async ({
  page,
}, testInfo) => {
  test.setTimeout(600_000);
  const errors = await dropDemoForDownload(page);

  await page
    .getByRole('group', { name: 'Quantization' })
    .getByRole('radio', { name: /^4-bit Q4_0/ })
    .check();
  const format = page.getByRole('group', { name: 'Output format' });
  await expect(format.getByRole('radio', { name: /^Safetensors folder/ })).toBeChecked();
  await format.getByRole('radio', { name: /^One \.gguf file/ }).check();

  await page.getByRole('button', { name: 'Prune', exact: true }).click();
  await expect(page.getByTestId('run-stage')).toHaveText('Done.', { timeout: 480_000 });
  const result = page.getByRole('region', { name: /Result/ });
  await expect(result.getByText('GPTQ Q4_0', { exact: true })).toBeVisible();
  const prunedStat = result.locator('.stat', { hasText: 'Pruned perplexity' });
  const shownPerplexity = Number(await prunedStat.locator('.stat-value').textContent());
  // The figure is our forward on the solver's linears; the card says the file also rounds embeddings and head.
  await expect(prunedStat.locator('.stat-note')).toContainText(
    'float embeddings and head; the .gguf rounds them too',
  );

  const downloadPromise = page.waitForEvent('download');
  await result.getByRole('button', { name: 'Download pruned model' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toBe('stories260K-sparsegpt-50pct-gptq-q4_0.gguf');
  const path = testInfo.outputPath('model.gguf');
  await download.saveAs(path);
  const header = await readGgufHeader(await fileByteSource(path));
  expect(header.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.type).toBe('Q4_0');

  // Sizes on the card: the input's weight tensors and the file, as they really are.
  const { model } = await openModel(await openFolder(DEMO_FOLDER));
  const inputBytes = model.checkpoint.tensors.reduce((sum, t) => sum + t.byteEnd - t.byteStart, 0);
  const fileBytes = (await stat(path)).size;
  const size = result.getByTestId('size-result');
  await expect(size).toHaveAttribute('data-input-bytes', String(inputBytes));
  await expect(size).toHaveAttribute('data-output-bytes', String(fileBytes));
  await expect(size.locator('.stat-value')).toHaveText(
    `${formatBytes(inputBytes)} → ${formatBytes(fileBytes)}`,
  );
  await expect(size.locator('.stat-note')).toHaveText(`${(inputBytes / fileBytes).toFixed(1)}× smaller`);
  expect(inputBytes / fileBytes).toBeGreaterThan(2);

  // The app's evaluation windows (the demo's evaluation text, 16 windows of 128 tokens by the app's defaults).
  const windows = measureEvaluation(model, await readFile(`${DEMO_FOLDER}/evaluation.txt`, 'utf8'), {
    seqlen: 128,
    maxWindows: 16,
  });
  // Our own forward (the float64 reference) on the file's dequantized weights.
  const reference = await referenceOf(await openGgufForward(await fileByteSource(path)));
  const nll = reference.forwardNll(windows.ids, { sequences: windows.windows, seqLen: 128 });
  const ours = perplexityFromNll(nll, nextTokenTargets(windows.ids, 128)).perplexity;
  const rows = Array.from({ length: windows.windows }, (_, w) =>
    Array.from(windows.ids.subarray(w * 128, (w + 1) * 128)),
  );
  const llamaLosses = await withLlamaModel(path, (llama) => llamaNll(llama, rows));
  const theirs = Math.exp(llamaLosses.reduce((sum, v) => sum + v, 0) / llamaLosses.length);
  console.log(`app ${shownPerplexity}, ours on the file ${ours}, llama.cpp ${theirs}`);
  // The file holds the linears the app scored; the app scores them with the float token embeddings and head, which
  // the file stores rounded by llama.cpp's recipe (round-to-nearest): measured 7e-4 relative (20.52 on the card,
  // 20.534 on the file), bounded at 2e-3.
  expect(Math.abs(ours - shownPerplexity) / ours).toBeLessThan(2e-3);
  // llama.cpp's CPU kernels quantize the activations too: the CLI tests' bound for Q4_0.
  expect(Math.abs(theirs - ours) / ours).toBeLessThan(5e-3);
  expect(errors).toEqual([]);
});

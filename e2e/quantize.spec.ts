/**
 * Quantization in the app: pick 4-bit (Q4_0) with GPTQ beside the pattern, prune the demo at 50%, and find on the
 * result card which types the linears were rounded to; the download holds every pruned linear on the Q4_0 grid
 * (each block of 32 weights is d·q with whole q from −8 to 7), half of it exactly 0, and says so in its metadata.
 * Generation then runs on the quantized model: the pruned panel's greedy text is the float64 reference's on the
 * downloaded (dequantized) weights.
 */
import { readFile, stat } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { formatBytes } from '../src/core/format-bytes';
import { openCheckpoint } from '../src/core/io/checkpoint';
import { openFolder } from '../src/node/files';
import { referenceContinuation } from '../test/reference-text';
import { DEMO_FOLDER, dropDemoForDownload, extractStoredZip } from './support';

const LINEAR = /\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up)_proj)\.weight$/;

/** Whether the 32 values are d·q for one d and whole q in [−8, 7] (the largest |value| is |d|·k, k ≤ 8). */
function onQ4Grid(block: Float32Array): boolean {
  const amax = Math.max(...Array.from(block, Math.abs));
  if (amax === 0) return true;
  return [1, 2, 3, 4, 5, 6, 7, 8].some((k) =>
    block.every((v) => {
      const q = (v / amax) * k;
      return Math.abs(q - Math.round(q)) < 1e-4 && Math.round(q) >= -8 && Math.round(q) <= 8;
    }),
  );
}

test('4-bit GPTQ beside the pattern: the result says it, the download is on the Q4_0 grid', async ({
  page,
}, testInfo) => {
  test.setTimeout(560_000);
  const errors = await dropDemoForDownload(page);

  const quantization = page.getByRole('group', { name: 'Quantization' });
  await expect(quantization.getByRole('radio', { name: /^None/ })).toBeChecked();
  await expect(page.getByRole('radiogroup', { name: 'Quantization method' })).toHaveCount(0);
  await quantization.getByRole('radio', { name: /^4-bit Q4_0/ }).check();
  const method = page.getByRole('radiogroup', { name: 'Quantization method' });
  await expect(method.getByRole('radio', { name: /^GPTQ/ })).toBeChecked();
  await expect(
    page.getByRole('group', { name: 'Output format' }).getByRole('radio', { name: /^Safetensors folder/ }),
  ).toBeChecked();

  await page.getByRole('button', { name: 'Prune', exact: true }).click();
  await expect(page.getByTestId('run-stage')).toHaveText('Done.', { timeout: 420_000 });
  const result = page.getByRole('region', { name: /Result/ });
  await expect(result.getByText('GPTQ Q4_0', { exact: true })).toBeVisible();
  // down_proj's 172 inputs fill no block of 32: llama.cpp's recipe (and the walk) keeps it at F16.
  await expect(result.getByTestId('quantization-result')).toHaveText('Q4_0 × 30, F16 × 5');

  const downloadPromise = page.waitForEvent('download');
  await result.getByRole('button', { name: 'Download pruned model' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toBe('stories260K-sparsegpt-50pct-gptq-q4_0.zip');
  const zipPath = testInfo.outputPath('download.zip');
  await download.saveAs(zipPath);
  const unzipped = testInfo.outputPath('unzipped');
  await extractStoredZip(new Uint8Array(await readFile(zipPath)), unzipped);
  const outputFolder = `${unzipped}/stories260K-sparsegpt-50pct-gptq-q4_0`;
  const checkpoint = await openCheckpoint(await openFolder(outputFolder));
  expect(checkpoint.metadata['sparsegpt.quantization']).toBe('gptq:q4_0');
  // The card's sizes: the input's weight tensors against the downloaded folder's safetensors files, as they are.
  const input = await openCheckpoint(await openFolder(DEMO_FOLDER));
  const inputBytes = input.tensors.reduce((sum, t) => sum + t.byteEnd - t.byteStart, 0);
  const outputBytes = (await stat(`${outputFolder}/model.safetensors`)).size;
  const size = result.getByTestId('size-result');
  await expect(size).toHaveAttribute('data-input-bytes', String(inputBytes));
  await expect(size).toHaveAttribute('data-output-bytes', String(outputBytes));
  await expect(size.locator('.stat-value')).toHaveText(
    `${formatBytes(inputBytes)} → ${formatBytes(outputBytes)}`,
  );
  let linears = 0;
  for (const tensor of checkpoint.tensors.filter((t) => LINEAR.test(t.name))) {
    const W = await checkpoint.readFloat32(tensor.name);
    let offGrid = 0;
    for (let start = 0; start < W.length; start += 32)
      if (!onQ4Grid(W.subarray(start, start + 32))) offGrid++;
    expect({ tensor: tensor.name, offGrid }).toEqual({ tensor: tensor.name, offGrid: 0 });
    const zeros = W.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
    expect(zeros / W.length, tensor.name).toBeGreaterThanOrEqual(0.5);
    linears++;
  }
  expect(linears).toBe(30);

  // Generation from the quantized run: the pruned panel continues as the downloaded weights do in float64.
  const prompt = 'Once upon a time, there was a little girl named Lily. She';
  const card = page.getByRole('region', { name: /Generate: dense and pruned/ });
  await card.getByRole('textbox', { name: 'Prompt' }).fill(prompt);
  await card.getByLabel('Max tokens').fill('8');
  await card.getByRole('button', { name: 'Generate', exact: true }).click();
  const pruned = card.getByRole('region', { name: 'Pruned model output' });
  await expect(pruned.getByTestId('generation-speed')).toHaveText(/^\d+ tokens · /, { timeout: 120_000 });
  await expect(card.getByRole('button', { name: 'Generate', exact: true })).toBeEnabled({ timeout: 120_000 });
  expect(await pruned.getByTestId('generated-text').textContent()).toBe(
    await referenceContinuation(outputFolder, prompt, 8),
  );
  expect(errors).toEqual([]);
});

/**
 * The newer families in the app: a tiny Gemma 2 checkpoint and a sharded tiny Qwen3-MoE (family-checkpoints.ts: the
 * real config.json with sizes shrunk, real tensor names), dropped as folders. The model card names each family's
 * particulars (sliding windows, soft-capping, experts), and Gemma 2 prunes to the end with a row per linear.
 */
import { expect, test } from '@playwright/test';
import { familyCheckpoint, familyFiles } from '../test/family-checkpoints';
import { type DroppedFile, dropFiles } from './support';

/** The family's tiny checkpoint as a dropped folder, with the demo's tokenizer and sample texts beside it. */
function familyDrop(name: string, shards = 1): DroppedFile[] {
  const folder = name.split('/')[1];
  const checkpoint = familyCheckpoint(name, { vocab: 512 });
  const files: DroppedFile[] = familyFiles(checkpoint, shards).map(([file, bytes]) => ({
    path: `${folder}/${file}`,
    bytes: [...bytes],
  }));
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'calibration.txt', 'evaluation.txt']) {
    files.push({ path: `${folder}/${file}`, url: `/demo/stories260K/${file}` });
  }
  return files;
}

test('the model card shows each family’s particulars, and Gemma 2 prunes', async ({ page }) => {
  test.setTimeout(300_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/');
  await expect(page.getByTestId('adapter-name')).toContainText('in a Web Worker');
  const card = page.getByRole('region', { name: 'Model' });
  const particulars = page.getByTestId('model-particulars');

  await dropFiles(page, familyDrop('Qwen/Qwen3-30B-A3B', 2));
  await expect(page.getByTestId('model-name')).toHaveText('Qwen3-30B-A3B');
  await expect(card).toContainText('qwen3_moe');
  await expect(particulars).toHaveText(
    '16 experts, top 4 renormalised, expert MLP 12 · q/k RMSNorm per head',
  );
  await expect(card).toContainText('in 2 shards');

  await dropFiles(page, familyDrop('google/gemma-2-2b'));
  await expect(page.getByTestId('model-name')).toHaveText('gemma-2-2b');
  await expect(particulars).toHaveText(
    /^sliding window of 8 tokens on 1 of 2 layers · attention soft-cap 50 · final logit soft-cap 30 · RMSNorm \(1 \+ w\) · norms before and after attention and MLP · embeddings × 5\.65\d* · attention scale 0\.25$/,
  );
  // Gemma 2's 16 positions: the sequence length goes down to them before Prune is offered.
  await expect(page.getByText(/must be a whole number from 2 to the model's 16 positions/)).toBeVisible();
  await page.getByText('Advanced').click();
  await page.getByLabel('Sequence length (tokens)').fill('16');
  await expect(page.getByTestId('calibration-measure')).toContainText(/\d+ samples × 16 tokens/);
  await page.getByRole('button', { name: 'Prune', exact: true }).click();
  await expect(page.getByTestId('run-stage')).toHaveText('Done.', { timeout: 240_000 });
  await expect(page.getByRole('table', { name: 'Per-layer results' }).locator('tbody tr')).toHaveCount(14);
  const result = page.getByRole('region', { name: /Result/ });
  await expect(result.getByText('Dense perplexity')).toBeVisible();
  await expect(result.locator('.stat-value').nth(2)).toHaveText(/^\d/);

  // A plain Llama has no particulars: the row is absent rather than empty.
  await dropFiles(page, [
    ...['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((file) => ({
      path: `stories260K/${file}`,
      url: `/demo/stories260K/${file}`,
    })),
  ]);
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await expect(particulars).toHaveCount(0);
  expect(errors).toEqual([]);
});

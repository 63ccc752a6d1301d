/**
 * The newer families in the app: a tiny Gemma 2 checkpoint and a sharded tiny Qwen3-MoE (family-checkpoints.ts: the
 * real config.json with sizes shrunk, real tensor names), dropped as folders. The model card names each family's
 * particulars (sliding windows, soft-capping, experts), and Gemma 2 prunes to the end with a row per linear. A tiny
 * Mixtral whose router never picks half of its experts: with each expert calibrated on its routed tokens, the run
 * names each one it left dense; with "every token" chosen in Advanced (kept across a reload), none is.
 */
import { expect, test } from '@playwright/test';
import {
  type FamilyCheckpoint,
  familyCheckpoint,
  familyFiles,
  withUnreachableExperts,
} from '../test/family-checkpoints';
import { type DroppedFile, dropFiles } from './support';

/** The family's tiny checkpoint as a dropped folder, with the demo's tokenizer and sample texts beside it. */
function familyDrop(
  name: string,
  shards = 1,
  checkpoint: FamilyCheckpoint = familyCheckpoint(name, { vocab: 512 }),
): DroppedFile[] {
  const folder = name.split('/')[1];
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

test('mixtures of experts: calibrate each expert on its routed tokens or on every token', async ({
  page,
}) => {
  test.setTimeout(600_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const checkpoint = familyCheckpoint('mistralai/Mixtral-8x7B-v0.1', { vocab: 512 });
  const unreachable = withUnreachableExperts(
    checkpoint,
    (l) => `model.layers.${l}.block_sparse_moe.gate.weight`,
  );
  const drop = familyDrop('mistralai/Mixtral-8x7B-v0.1', 1, checkpoint);
  await page.goto('/');
  await expect(page.getByTestId('adapter-name')).toContainText('in a Web Worker');
  // A dense model has no such setting.
  await page.getByRole('button', { name: 'Try the demo model' }).click();
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await page.getByText('Advanced').click();
  const field = page.getByLabel('Experts calibrated on');
  await expect(field).toHaveCount(0);

  await dropFiles(page, drop);
  await expect(page.getByTestId('model-name')).toHaveText('Mixtral-8x7B-v0.1');
  await expect(page.getByTestId('model-particulars')).toHaveText(
    '8 experts, top 2 renormalised, expert MLP 24',
  );
  await page.getByLabel('Calibration samples').fill('4');
  await page.getByLabel('Sequence length (tokens)').fill('32');
  await page.getByLabel('Evaluation windows').fill('2');
  await expect(field).toHaveValue('routed');
  const prune = page.getByRole('button', { name: 'Prune', exact: true });
  const stage = page.getByTestId('run-stage');
  const rows = page.getByRole('table', { name: 'Per-layer results' }).locator('tbody tr');
  const run = page.getByRole('region', { name: /Run/ });

  await prune.click();
  await expect(stage).toHaveText('Done.', { timeout: 240_000 });
  await expect(rows).toHaveCount(2 * (4 + 8 * 3));
  for (const block of [0, 1]) {
    for (const expert of unreachable) {
      await expect(
        run.getByText(`block ${block}, expert ${expert}: no calibration token was routed to it`),
      ).toBeVisible();
    }
  }

  await field.selectOption('all');
  await page.reload();
  await expect(page.getByTestId('reopen-offer')).toBeVisible();
  await dropFiles(page, drop);
  await expect(page.getByTestId('model-name')).toHaveText('Mixtral-8x7B-v0.1');
  await page.getByText('Advanced').click();
  await expect(field).toHaveValue('all');
  await prune.click();
  await expect(stage).toHaveText('Done.', { timeout: 240_000 });
  await expect(rows).toHaveCount(2 * (4 + 8 * 3));
  await expect(run.getByText(/no calibration token was routed/)).toHaveCount(0);
  expect(errors).toEqual([]);
});

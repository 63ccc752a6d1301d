/**
 * Sparsity per layer in the app on the demo: from the layer explorer, "use this sparsity for this layer in the
 * next run"; the per-layer targets table edited by hand (with what each entry matches, and bad entries named);
 * the OWL allocation with its range shown before the run and each block's share shown by the run; the run's
 * per-layer table shows every layer's target beside what it reached; the choices survive a reload.
 */
import { expect, type Locator, test } from '@playwright/test';
import { openSmallDemo } from './support';

const percent = (text: string) => Number(text.replace('%', '')) / 100;

async function columns(table: Locator, names: string[]): Promise<Array<Record<string, string>>> {
  const headers = (await table.locator('thead th').allInnerTexts()).map((h) => h.trim());
  const rows = await table.locator('tbody tr').all();
  return Promise.all(
    rows.map(async (row) => {
      const cells = (await row.locator('td, th').allInnerTexts()).map((c) => c.trim());
      return Object.fromEntries(names.map((name) => [name, cells[headers.indexOf(name)]]));
    }),
  );
}

test('per-layer targets from the explorer and by hand, and the OWL allocation', async ({ page }) => {
  test.setTimeout(900_000);
  const errors = await openSmallDemo(page, 2);
  const prune = page.getByRole('button', { name: 'Prune', exact: true });
  const stage = page.getByTestId('run-stage');
  await prune.click();
  await expect(stage).toHaveText('Done.', { timeout: 300_000 });

  // The explorer: block 1's down_proj at 70% for the next run.
  const explorer = page.getByRole('region', { name: 'Layer explorer' });
  await explorer
    .getByLabel('Layer', { exact: true })
    .selectOption({ label: 'block 1 · mlp.down_proj (64×172)' });
  await explorer.getByRole('slider').fill('70');
  await explorer.getByRole('button', { name: 'Use 70% for this layer in the next run' }).click();
  await expect(explorer.getByRole('status').filter({ hasText: 'The next run prunes' })).toHaveText(
    'The next run prunes block 1 mlp.down_proj to 70% (see Sparsity per layer).',
  );
  await expect(
    explorer.getByRole('button', { name: 'Use 70% for this layer in the next run' }),
  ).toBeDisabled();

  const card = page.getByRole('region', { name: 'Sparsity per layer' });
  const targets = card.getByRole('table', { name: 'Per-layer targets' });
  await expect(card.getByLabel('Layers of target 1')).toHaveValue('model.layers.1.mlp.down_proj.weight');
  await expect(card.getByLabel('Sparsity of target 1 (%)')).toHaveValue('70');
  await expect(targets.locator('tbody tr').first()).toContainText('1 linear');

  // A second target by hand: a name that matches nothing is said, a bad sparsity blocks Prune with its reason.
  await card.getByRole('button', { name: 'Add a per-layer target' }).click();
  await card.getByLabel('Layers of target 2').fill('mlp.up');
  await expect(targets.locator('tbody tr').nth(1)).toContainText('matches no layer');
  await card.getByLabel('Layers of target 2').fill('layers.2.');
  await expect(targets.locator('tbody tr').nth(1)).toContainText('7 linears');
  await card.getByLabel('Sparsity of target 2 (%)').fill('120');
  await expect(
    page.getByText('The per-layer sparsity of "layers.2." must be at least 0 and below 1'),
  ).toBeVisible();
  await expect(prune).toBeDisabled();
  await card.getByLabel('Sparsity of target 2 (%)').fill('30');
  await expect(prune).toBeEnabled();

  // OWL: the range is shown before the run.
  await card.getByLabel('Allocation over blocks').selectOption('owl');
  await expect(card.getByTestId('owl-preview')).toContainText('from 42.0% to 58.0%, averaging 50.0%');
  await card.getByLabel('OWL range λ (%)').fill('10');
  await expect(card.getByTestId('owl-preview')).toContainText('from 40.0% to 60.0%, averaging 50.0%');
  await card.getByLabel('OWL range λ (%)').fill('70');
  await expect(page.getByText(/OWL's λ must be from 0 to 0\.5/)).toBeVisible();
  await card.getByLabel('OWL range λ (%)').fill('10');
  await card.getByLabel('OWL outlier threshold M').fill('4');

  await prune.click();
  const allocation = page.getByRole('table', { name: 'OWL allocation' });
  await expect(allocation.locator('tbody tr')).toHaveCount(5, { timeout: 200_000 });
  await expect(stage).toHaveText('Done.', { timeout: 300_000 });
  const blocks = (await columns(allocation, ['Sparsity'])).map((r) => percent(r.Sparsity));
  const mean = blocks.reduce((a, b) => a + b, 0) / blocks.length;
  expect(Math.abs(mean - 0.5)).toBeLessThan(0.002);
  for (const s of blocks) expect(Math.abs(s - 0.5)).toBeLessThanOrEqual(0.1005);
  expect(Math.max(...blocks) - Math.min(...blocks)).toBeGreaterThan(0.01);

  // Every layer's target beside what it reached: the per-layer targets over the block's allocation.
  const layers = await columns(page.getByRole('table', { name: 'Per-layer results' }), [
    'Block',
    'Layer',
    'Target',
    'Sparsity',
  ]);
  expect(layers).toHaveLength(35);
  for (const layer of layers) {
    const block = Number(layer.Block);
    const expected = block === 1 && layer.Layer === 'mlp.down_proj' ? 0.7 : block === 2 ? 0.3 : blocks[block];
    expect(percent(layer.Target), `${block} ${layer.Layer}`).toBeCloseTo(expected, 3);
    expect(Math.abs(percent(layer.Sparsity) - expected), `${block} ${layer.Layer}`).toBeLessThan(0.011);
  }

  // The choices are kept across a reload.
  await page.reload();
  await expect(card.getByLabel('Layers of target 2')).toHaveValue('layers.2.');
  await expect(card.getByLabel('Allocation over blocks')).toHaveValue('owl');
  await expect(card.getByLabel('OWL range λ (%)')).toHaveValue('10');
  await card.getByRole('button', { name: 'Remove target 1' }).click();
  await expect(card.getByLabel('Layers of target 1')).toHaveValue('layers.2.');
  expect(errors).toEqual([]);
});

/**
 * The sweep in the app on the demo: two methods × two sparsities queued as whole runs (no model written), charted
 * with one line per method, a table, CSV and JSON exports that match it, every point in history; Cancel stops the
 * queue and keeps the finished points; bad entries are named before the sweep starts.
 */
import { readFile } from 'node:fs/promises';
import { expect, type Page, test } from '@playwright/test';
import { openSmallDemo } from './support';

async function download(page: Page, button: string): Promise<string> {
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('region', { name: 'Sweep' }).getByRole('button', { name: button }).click(),
  ]);
  const path = await file.path();
  return readFile(path, 'utf8');
}

/** Files under the origin private file system's "runs/" folder, where a pruned model is written. */
function writtenRuns(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const runs = await root.getDirectoryHandle('runs', { create: true });
    let count = 0;
    for await (const _ of (runs as unknown as { keys(): AsyncIterable<string> }).keys()) count++;
    return count;
  });
}

test('sweep two methods × two sparsities, export, cancel a second sweep', async ({ page }) => {
  test.setTimeout(1_200_000);
  const errors = await openSmallDemo(page, 4);

  const card = page.getByRole('region', { name: 'Sweep' });
  const run = card.getByRole('button', { name: 'Run sweep' });
  const sparsities = card.getByLabel('Sparsities (%)');
  // Bad entries are named and the sweep cannot start.
  await sparsities.fill('30, half');
  await expect(card.getByTestId('sweep-problems')).toContainText('“half” is not a percentage (e.g. 50).');
  await expect(run).toBeDisabled();
  await sparsities.fill('30, 100');
  await expect(card.getByTestId('sweep-problems')).toContainText(
    '100%: Sparsity must be at least 0 and below 1',
  );
  await card.getByLabel('N:M patterns').fill('4:2');
  await expect(card.getByTestId('sweep-problems')).toContainText('4:2: An N:M pattern needs whole numbers');
  await card.getByLabel('N:M patterns').fill('');
  const evaluation = page.getByRole('textbox', { name: /Evaluation text/ });
  const evaluationText = await evaluation.inputValue();
  await evaluation.fill('');
  await sparsities.fill('60, 30');
  await expect(card.getByTestId('sweep-problems')).toContainText('Add an evaluation text');
  await evaluation.fill(evaluationText);
  await card.getByRole('checkbox', { name: 'SparseGPT' }).uncheck();
  await expect(card.getByTestId('sweep-problems')).toHaveCount(0);

  await run.click();
  const status = card.getByTestId('sweep-status');
  await expect(status).toHaveText('Point 1 of 4: Wanda 30%…');
  await expect(status).toHaveText('Sweep done: 4 of 4 points finished.', { timeout: 900_000 });
  const rows = card.getByRole('table', { name: 'Sweep points' }).locator('tbody tr');
  await expect(rows).toHaveCount(4);
  const cells = async (row: number) =>
    (await rows.nth(row).locator('td').allInnerTexts()).map((t) => t.trim());
  const table = await Promise.all([0, 1, 2, 3].map(cells));
  expect(table.map((r) => `${r[0]} ${r[1]}`)).toEqual([
    'Wanda 30%',
    'Magnitude 30%',
    'Wanda 60%',
    'Magnitude 60%',
  ]);
  // More zeros, worse perplexity, for each method; each point's zeros are what it asked for.
  expect(Number(table[2][4])).toBeGreaterThan(Number(table[0][4]));
  expect(Number(table[3][4])).toBeGreaterThan(Number(table[1][4]));
  // (Wanda zeroes ⌊cols·s⌋ of each row: within a column of the target.)
  table.forEach((r, i) => {
    expect(Math.abs(Number(r[2].replace('%', '')) - [30, 30, 60, 60][i])).toBeLessThan(1);
  });
  // The chart: a canvas and a legend with one entry per method and the dense line.
  const chart = card.getByRole('figure', { name: /Perplexity against sparsity/ });
  await expect(chart.locator('canvas')).toHaveCount(1);
  for (const label of ['Wanda', 'Magnitude', 'Dense']) {
    await expect(chart.locator('.u-legend .u-label', { hasText: new RegExp(`^${label}$`) })).toHaveCount(1);
  }
  if (process.env.SWEEP_SCREENSHOT) await card.screenshot({ path: process.env.SWEEP_SCREENSHOT });

  const csv = (await download(page, 'Export CSV')).trim().split('\n');
  expect(csv[0]).toBe(
    'method,pattern,target_sparsity,sparsity_pruned_layers,sparsity_all_linears,dense_perplexity,pruned_perplexity,seconds',
  );
  expect(csv.slice(1).map((line) => line.split(',').slice(0, 3).join(' '))).toEqual([
    'wanda unstructured 0.3',
    'magnitude unstructured 0.3',
    'wanda unstructured 0.6',
    'magnitude unstructured 0.6',
  ]);
  csv.slice(1).forEach((line, i) => {
    expect(Number(line.split(',')[6]).toFixed(2)).toBe(table[i][4]);
  });
  const json = JSON.parse(await download(page, 'Export JSON'));
  expect(json).toMatchObject({ model: 'stories260K', stopped: false });
  expect(json.points).toHaveLength(4);
  expect(json.settings.nsamples).toBe(8);
  const [picture] = await Promise.all([
    page.waitForEvent('download'),
    card.getByRole('button', { name: 'Save chart as PNG' }).click(),
  ]);
  expect(picture.suggestedFilename()).toBe('stories260K-sweep.png');
  expect((await readFile(await picture.path())).subarray(1, 4).toString()).toBe('PNG');

  // Every point is in history; none wrote a model.
  const history = page.getByRole('list', { name: 'Past runs' }).getByRole('listitem');
  await expect(history).toHaveCount(4);
  await expect(history.getByText('A sweep point: no files written')).toHaveCount(4);
  expect(await writtenRuns(page)).toBe(0);

  // A second sweep, cancelled during its second point: the first point stays, in the chart and in history.
  await card.getByRole('checkbox', { name: 'Wanda' }).uncheck();
  await sparsities.fill('20, 40, 60');
  await run.click();
  await expect(status).toHaveText('Point 2 of 3: Magnitude 40%…', { timeout: 300_000 });
  await card.getByRole('button', { name: 'Cancel sweep' }).click();
  await expect(status).toHaveText('Sweep stopped: 1 of 3 points finished.', { timeout: 200_000 });
  await expect(rows).toHaveCount(1);
  await expect(rows.first().locator('td').first()).toHaveText('Magnitude');
  await expect(history).toHaveCount(5);
  const stopped = JSON.parse(await download(page, 'Export JSON'));
  expect(stopped).toMatchObject({ stopped: true });
  expect(stopped.points).toHaveLength(1);
  await expect(run).toBeEnabled();
  expect(errors).toEqual([]);
});

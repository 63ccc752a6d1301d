/**
 * The whole path a new user takes: drop the demo model folder, choose settings with the keyboard, prune 2:4 with
 * live per-layer rows, explore a layer, download the pruned model and check it with the core reader, reload and
 * find settings and history kept.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import {
  attachCardScreenshots,
  attachScreenshot,
  checkPrunedDemo,
  DEMO_FOLDER,
  demoDrop,
  dropFiles,
  extractStoredZip,
} from './support';

test('drop the demo folder, prune 2:4, explore, download and reload', async ({ page }, testInfo) => {
  // A whole run, the explorer, two downloads and a reload that brings the explorer back.
  test.setTimeout(300_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // This spec takes the download path of browsers without a folder picker (one ZIP); the picker path is below.
  await page.addInitScript(() => {
    Object.defineProperty(window, 'showDirectoryPicker', { value: undefined, configurable: true });
  });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/');
  await expect(page.getByTestId('adapter-name')).toContainText('in a Web Worker');

  await dropFiles(page, demoDrop());
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await expect(page.getByTestId('calibration-measure')).toContainText(/\d+ samples × \d+ tokens/);

  const slider = page.getByRole('slider', { name: /sparsity/i });
  await expect(slider).toHaveValue('50');
  await slider.focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
  await expect(slider).toHaveValue('60');
  await expect(page.getByText('Sparsity 60%')).toBeVisible();
  await page.getByRole('radio', { name: /^2:4/ }).check();
  await expect(slider).toBeDisabled();
  await expect(slider).toHaveValue('50');
  await attachScreenshot(page, testInfo, 'desktop ready to prune');

  const started = Date.now();
  await page.getByRole('button', { name: 'Prune', exact: true }).click();
  // The run comes into view: its progress and Cancel were below the fold.
  await expect(page.getByRole('button', { name: 'Cancel' })).toBeInViewport();
  const table = page.getByRole('table', { name: 'Per-layer results' });
  // Rows must arrive while the run is still going, not all at the end.
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll('table.layers tbody tr').length;
    const bar = document.querySelector('[role="progressbar"]');
    return rows > 0 && bar !== null && Number(bar.getAttribute('aria-valuenow')) < 100;
  });
  await expect(page.getByRole('button', { name: 'Cancel' })).toBeVisible();
  await attachScreenshot(page, testInfo, 'desktop while pruning');

  await expect(page.getByTestId('run-stage')).toHaveText('Done.', { timeout: 150_000 });
  testInfo.annotations.push({ type: 'run seconds', description: ((Date.now() - started) / 1000).toFixed(1) });
  await expect(table.locator('tbody tr')).toHaveCount(35);
  const result = page.getByRole('region', { name: /Result/ });
  await expect(result.getByText('Dense perplexity')).toBeVisible();
  await expect(result.locator('.stat-value').nth(1)).toHaveText(/^\d/);
  await expect(result.locator('.stat-value').nth(2)).toHaveText(/^\d/);
  // The whole model's sparsity beside that of the pruned layers (2:4 prunes every linear of the demo).
  await expect(result.getByTestId('sparsity-all-linears')).toHaveText('50.0% of all linears');
  // The last layer's mask keeps the layer's shape: down_proj is 64 rows × 172 columns, so it is drawn wide.
  const mask = page.getByRole('img', { name: /^Mask of block 4 mlp\.down_proj/ });
  const box = await mask.boundingBox();
  expect((box?.width ?? 0) / (box?.height ?? 1)).toBeGreaterThan(2.4);

  // The layer explorer: switch the picked layer to unstructured and drag its own sparsity up; the error follows.
  const explorer = page.getByRole('region', { name: 'Layer explorer' });
  const error = explorer.getByTestId('explorer-error');
  await expect(error).toHaveText(/^\d/);
  await explorer.getByLabel('Layer', { exact: true }).selectOption({ index: 3 });
  await expect(explorer.getByText(/2:4, 50(\.0)?% zeros/)).toBeVisible();
  const atTwoOfFour = await error.textContent();
  await explorer.getByLabel('Pattern for this layer').selectOption('unstructured');
  const layerSlider = explorer.getByRole('slider', { name: /prune this layer/i });
  await layerSlider.focus();
  await page.keyboard.press('End');
  await expect(layerSlider).toHaveValue('95');
  await expect(explorer.getByText(/95% unstructured, 95(\.0)?% zeros/)).toBeVisible();
  const atNinetyFive = await error.textContent();
  expect(Number.parseFloat(atNinetyFive ?? '')).toBeGreaterThan(Number.parseFloat(atTwoOfFour ?? ''));
  await expect(explorer.getByRole('img', { name: /against sparsity/i })).toBeVisible();
  await explorer.getByRole('radio', { name: 'Wanda' }).check();
  await expect(explorer.getByText(/^Wanda, 95% unstructured, \d+(\.\d)?% zeros$/)).toBeVisible();
  await attachScreenshot(page, testInfo, 'desktop done with explorer');

  // Download: one ZIP of the pruned folder, read back with the core's checkpoint reader.
  const downloadPromise = page.waitForEvent('download');
  await result.getByRole('button', { name: 'Download pruned model' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toBe('stories260K-sparsegpt-2of4.zip');
  const zipPath = testInfo.outputPath('download.zip');
  await download.saveAs(zipPath);
  const unzipped = testInfo.outputPath('unzipped');
  const names = await extractStoredZip(new Uint8Array(await readFile(zipPath)), unzipped);
  expect(names).toContain('stories260K-sparsegpt-2of4/model.safetensors');
  expect(names).toContain('stories260K-sparsegpt-2of4/config.json');
  expect(names).toContain('stories260K-sparsegpt-2of4/tokenizer.json');
  // One file of the output, as it is.
  await result.getByText(/^\d+ files$/).click();
  const oneFile = page.waitForEvent('download');
  await result.getByRole('link', { name: 'config.json', exact: true }).click();
  expect((await oneFile).suggestedFilename()).toBe('stories260K-sparsegpt-2of4-config.json');
  const check = await checkPrunedDemo(`${unzipped}/stories260K-sparsegpt-2of4`, { n: 2, m: 4 });
  expect(check.prunedTensors).toBe(35);
  expect(check.untouchedTensors).toBeGreaterThan(0);
  for (const [name, sparsity] of check.sparsity) expect(sparsity, name).toBeGreaterThanOrEqual(0.5);

  // Narrow phone width and dark mode look right too.
  await page.setViewportSize({ width: 390, height: 844 });
  await attachScreenshot(page, testInfo, 'narrow after run');
  await attachCardScreenshots(page, testInfo, 'narrow', [
    /^1 Model/,
    /^3 Settings/,
    /^4 Run/,
    /^5 Result/,
    /^Layer explorer$/,
    /^History$/,
  ]);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 1280, height: 900 });
  await attachScreenshot(page, testInfo, 'desktop dark after run');
  await page.emulateMedia({ colorScheme: 'light' });

  // After a reload the settings and the run's history are still there, and so are the result and, once the
  // dropped folder is picked again, the model and the explorer.
  await page.reload();
  await expect(
    page.getByRole('region', { name: /^5 Result/ }).getByTestId('sparsity-all-linears'),
  ).toHaveText('50.0% of all linears');
  await expect(page.getByTestId('reopen-offer')).toContainText('Last time stories260K was open.');
  await page.getByLabel('Model folder stories260K').setInputFiles(DEMO_FOLDER);
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await expect(explorer.getByTestId('explorer-error')).toHaveText(/^\d/);
  await expect(explorer.getByText(/^SparseGPT, 2:4, 50(\.0)?% zeros$/)).toBeVisible();
  await expect(page.getByRole('radio', { name: /^2:4/ })).toBeChecked();
  await expect(page.getByRole('slider', { name: /sparsity/i })).toHaveValue('50');
  const history = page.getByRole('region', { name: 'History' });
  const items = history.getByRole('list', { name: 'Past runs' }).getByRole('listitem');
  await expect(items).toHaveCount(1);
  await expect(items.first()).toContainText('stories260K');
  await expect(items.first()).toContainText('2:4');
  await items
    .first()
    .getByText(/Per-layer table/)
    .click();
  await expect(items.first().getByRole('table').locator('tbody tr')).toHaveCount(35);
  await attachScreenshot(page, testInfo, 'desktop after reload');
  expect(errors).toEqual([]);
});

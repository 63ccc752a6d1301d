/**
 * A run can be cancelled part-way and leaves nothing behind, also when the cancel takes long and the user stops it
 * at once; the next run starts cleanly in the same page (here leaving block 0 dense), and its output can be saved
 * into a folder the user picks (the File System Access path of Chromium), from the result and from history.
 */
import { expect, type Page, test } from '@playwright/test';
import { attachScreenshot } from './support';

test('cancel a run part-way, run again to the end, save into a picked folder', async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // The folder picker is a browser dialog; here it hands over a folder in the origin's private storage instead.
  await page.addInitScript(() => {
    Object.defineProperty(window, 'showDirectoryPicker', {
      configurable: true,
      value: async () =>
        (await navigator.storage.getDirectory()).getDirectoryHandle('picked', { create: true }),
    });
  });
  // The page's timers run on a clock the test can move on: "Stop now" is offered after 5 s of waiting for a cancel.
  await page.clock.install();
  await page.goto('/');
  await page.getByRole('button', { name: 'Try the demo model' }).click();
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  // Fewer samples and no evaluation keep this spec short; the full flow is in prune.spec.ts.
  await page.getByText('Advanced').click();
  const prune = page.getByRole('button', { name: 'Prune', exact: true });
  const stage = page.getByTestId('run-stage');

  // A cancel waits for the current layer; calibrating block 0 on 256 × 512 tokens takes a while, and after 5 s the
  // page offers "Stop now", which ends the run at once by replacing the worker.
  await page.getByLabel('Calibration samples').fill('256');
  await page.getByLabel('Sequence length (tokens)').fill('512');
  await prune.click();
  await expect(page.getByText(/block 1 of 5/)).toBeVisible({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByText('Stopping after the current layer…')).toBeVisible();
  await page.clock.fastForward(6000);
  await page.getByRole('button', { name: 'Stop now' }).click();
  await expect(stage).toContainText('Cancelled');
  const notice = page
    .getByRole('status')
    .filter({ hasText: 'The run was stopped at once; the worker was restarted.' });
  await expect(notice).toBeVisible();
  await notice.getByRole('button', { name: 'Dismiss' }).click();
  await expect(notice).toHaveCount(0);
  await page.getByLabel('Sequence length (tokens)').fill('128');

  await page.getByLabel('Calibration samples').fill('8');
  await page.getByRole('textbox', { name: /Evaluation text/ }).fill('');
  await page.getByRole('radio', { name: /^Wanda/ }).check();

  const rows = page.getByRole('table', { name: 'Per-layer results' }).locator('tbody tr');
  await prune.click();
  // The worker that replaced the stopped one compiles its GPU pipelines anew first.
  await expect(rows.first()).toBeVisible({ timeout: 90_000 });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(stage).toContainText('Cancelled', { timeout: 60_000 });
  expect(await rows.count()).toBeLessThan(35);
  await expect(page.getByRole('region', { name: /^5 Result/ })).toHaveCount(0);
  await attachScreenshot(page, testInfo, 'cancelled');
  // A cancelled run keeps no files in browser storage.
  expect(await runFolders(page)).toEqual([]);

  await expect(prune).toBeEnabled();
  // Block 0 stays dense: the result says how much of the whole model is zeros, not only of the pruned layers.
  await page.getByLabel('Layers to skip').fill('layers.0.');
  await prune.click();
  await expect(stage).toHaveText('Done.', { timeout: 120_000 });
  await expect(rows).toHaveCount(35);
  const result = page.getByRole('region', { name: /^5 Result/ });
  await expect(result.getByText('7 left dense')).toBeVisible();
  const ofAll = Number.parseFloat((await result.getByTestId('sparsity-all-linears').textContent()) ?? '');
  expect(ofAll).toBeGreaterThan(30);
  expect(ofAll).toBeLessThan(49.5);
  // Only the finished run is in the history, and only its files are kept.
  await expect(page.getByRole('list', { name: 'Past runs' }).getByRole('listitem')).toHaveCount(1);
  const kept = await runFolders(page);
  expect(kept).toHaveLength(1);

  await page.getByRole('button', { name: 'Download pruned model' }).click();
  await expect(page.getByText(/Saved \d+ files .* into picked\/stories260K-wanda-50pct\./)).toBeVisible();
  const compared = await page.evaluate(async (runFolder) => {
    const root = await navigator.storage.getDirectory();
    const saved = await (await root.getDirectoryHandle('picked')).getDirectoryHandle(
      'stories260K-wanda-50pct',
    );
    const run = await (await root.getDirectoryHandle('runs')).getDirectoryHandle(runFolder);
    const files: Array<{ name: string; same: boolean }> = [];
    for await (const name of (run as unknown as { keys(): AsyncIterable<string> }).keys()) {
      const a = new Uint8Array(await (await (await run.getFileHandle(name)).getFile()).arrayBuffer());
      const b = new Uint8Array(await (await (await saved.getFileHandle(name)).getFile()).arrayBuffer());
      files.push({ name, same: a.length === b.length && a.every((v, i) => v === b[i]) });
    }
    return files;
  }, kept[0]);
  expect(compared.map((f) => f.name)).toEqual(
    expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']),
  );
  for (const file of compared) expect(file, file.name).toMatchObject({ same: true });
  // The same save from the history's copy of the run.
  const history = page.getByRole('region', { name: 'History' });
  await history.getByRole('button', { name: 'Save files' }).click();
  await expect(history.getByText(/Saved \d+ files .* into picked\/stories260K-wanda-50pct\./)).toBeVisible();
  expect(errors).toEqual([]);
});

function runFolders(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const runs = await root.getDirectoryHandle('runs', { create: true });
    const names: string[] = [];
    for await (const name of (runs as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
    return names;
  });
}

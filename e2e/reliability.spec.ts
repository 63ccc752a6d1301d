/**
 * Nothing the user started is lost: a run whose GPU device is destroyed part-way resumes on a new device, and a run
 * interrupted by a reload is offered for resuming when the page comes back. Either way the pruned model is byte for
 * byte the one an uninterrupted run writes. The demo model with 8 × 64 calibration tokens and no evaluation keeps
 * this short.
 */

import { copyFile, mkdir } from 'node:fs/promises';
import { expect, type Page, test } from '@playwright/test';
import { attachScreenshot, DEMO_FOLDER, demoDrop, dropFiles, savedBlocks } from './support';

test.describe.configure({ mode: 'serial' });

/** SHA-256 of an uninterrupted run's model.safetensors, shared by the tests of this file. */
let reference: string | undefined;

async function openDemoWithSmallSettings(page: Page, how: 'button' | 'drop' = 'button'): Promise<void> {
  await page.goto('/?test-hooks');
  if (how === 'drop') await dropFiles(page, demoDrop());
  else await page.getByRole('button', { name: 'Try the demo model' }).click();
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await page.getByText('Advanced').click();
  await page.getByLabel('Calibration samples').fill('8');
  await page.getByLabel('Sequence length (tokens)').fill('64');
  await page.getByRole('textbox', { name: /Evaluation text/ }).fill('');
}

function folders(page: Page, root: 'runs' | 'progress'): Promise<string[]> {
  return page.evaluate(async (name) => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
    const names: string[] = [];
    for await (const entry of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(entry);
    return names.sort();
  }, root);
}

/** SHA-256 (hex) and size of a finished run's model.safetensors, read from the origin private file system. */
function outputDigest(page: Page, folder: string): Promise<string> {
  return page.evaluate(async (runFolder) => {
    const runs = await (await navigator.storage.getDirectory()).getDirectoryHandle('runs');
    const file = await (
      await (await runs.getDirectoryHandle(runFolder)).getFileHandle('model.safetensors')
    ).getFile();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
    return `${file.size}:${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  }, folder);
}

/** Presses Prune (or runs `start`), waits for the end, and returns the digest of the new output folder. */
async function runToTheEnd(
  page: Page,
  start: () => Promise<void>,
  during?: () => Promise<void>,
): Promise<string> {
  const before = await folders(page, 'runs');
  await start();
  await during?.();
  await expect(page.getByTestId('run-stage')).toHaveText('Done.', { timeout: 120_000 });
  await expect(page.getByRole('table', { name: 'Per-layer results' }).locator('tbody tr')).toHaveCount(35);
  const added = (await folders(page, 'runs')).filter((f) => !before.includes(f));
  expect(added).toHaveLength(1);
  // A finished run keeps no saved blocks.
  expect(await folders(page, 'progress')).toEqual([]);
  return outputDigest(page, added[0]);
}

async function referenceDigest(page: Page): Promise<string> {
  reference ??= await runToTheEnd(page, () =>
    page.getByRole('button', { name: 'Prune', exact: true }).click(),
  );
  return reference;
}

test('a run resumes on a new GPU device after the device is lost, with the same output', async ({
  page,
}, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await openDemoWithSmallSettings(page);
  const expected = await referenceDigest(page);

  const rows = page.getByRole('table', { name: 'Per-layer results' }).locator('tbody tr');
  const resumed = await runToTheEnd(
    page,
    () => page.getByRole('button', { name: 'Prune', exact: true }).click(),
    async () => {
      // Block 0 (7 linears) is finished and saved once block 1's rows appear.
      await expect(rows.nth(9)).toBeVisible({ timeout: 60_000 });
      const lost = await page.evaluate(() =>
        (
          window as unknown as { sparsegptTestHooks: { loseDevice(): Promise<boolean> } }
        ).sparsegptTestHooks.loseDevice(),
      );
      expect(lost).toBe(true);
      await expect(
        page.getByText(/The GPU device was lost \(.*\); resuming from block \d on a new device/),
      ).toBeVisible();
    },
  );
  await attachScreenshot(page, testInfo, 'resumed after device loss');
  await expect(page.getByText(/The GPU device was lost/)).toBeVisible();
  expect(resumed).toBe(expected);

  // Both runs side by side: they wrote the same bytes, so no layer is "best"; only their times differ.
  const history = page.getByRole('region', { name: 'History' });
  const items = history.getByRole('list', { name: 'Past runs' }).getByRole('listitem');
  await expect(items).toHaveCount(2);
  for (const item of await items.all())
    await item.getByRole('button', { name: /^Compare the run of/ }).click();
  const comparison = history.getByRole('table', { name: /^Comparison of 2 runs/ });
  await expect(comparison.getByRole('row', { name: /down_proj/ })).toHaveCount(5);
  await expect(comparison.locator('td.best')).toHaveCount(1);
  await expect(comparison.getByRole('row', { name: /^Time/ }).locator('td.best')).toHaveCount(1);
  await attachScreenshot(page, testInfo, 'two identical runs compared');
  // Free the files of one run, then delete the other from history.
  const runsBefore = (await folders(page, 'runs')).length;
  await items.first().getByRole('button', { name: 'Free storage' }).click();
  await expect(items.first().getByText('Files removed from browser storage')).toBeVisible();
  expect((await folders(page, 'runs')).length).toBe(runsBefore - 1);
  await items
    .nth(1)
    .getByRole('button', { name: /^Delete the run of/ })
    .click();
  await expect(items).toHaveCount(1);
  expect(errors).toEqual([]);
});

test('a run interrupted by a reload is offered for resuming and gives the same output', async ({
  page,
}, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await openDemoWithSmallSettings(page);
  const expected = await referenceDigest(page);

  await page.getByRole('button', { name: 'Prune', exact: true }).click();
  await expect.poll(() => savedBlocks(page), { timeout: 60_000, intervals: [100] }).toBeGreaterThanOrEqual(2);
  await page.reload();
  // The demo the run used opens again by itself.
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');

  const card = page.getByRole('region', { name: 'Unfinished run' });
  await expect(card.getByTestId('resume-offer')).toHaveText(
    /An unfinished run of stories260K \(SparseGPT · 50%[^,]*, 8 × 64 tokens, [2-5] of 5 blocks done\)\./,
  );
  await attachScreenshot(page, testInfo, 'unfinished run offered');
  // Only the saved blocks survive the reload: the half-written output is removed.
  const resumeStarted = Date.now();
  const resumed = await runToTheEnd(page, () => card.getByRole('button', { name: 'Resume' }).click());
  const resumeSeconds = (Date.now() - resumeStarted) / 1000;
  await expect(card).toHaveCount(0);
  expect(resumed).toBe(expected);
  // The run's time counts the blocks done before the reload too, not only the part after the resume.
  const time = page
    .getByRole('region', { name: /^5 Result/ })
    .locator('.stat', { hasText: 'Time' })
    .locator('.stat-value');
  expect(secondsOf((await time.textContent()) ?? '')).toBeGreaterThan(resumeSeconds);

  // The record is gone once the run is finished: a reload offers nothing.
  await page.reload();
  await expect(page.getByRole('heading', { name: /Model/ })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Unfinished run' })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a device lost more often than the retries stops the run with an alert and offers a resume', async ({
  page,
}, testInfo) => {
  // Three lost devices, a resume and a reload: longer than one run.
  test.setTimeout(300_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await openDemoWithSmallSettings(page, 'drop');

  const rows = page.getByRole('table', { name: 'Per-layer results' }).locator('tbody tr');
  const loseDevice = () =>
    page.evaluate(() =>
      (
        window as unknown as { sparsegptTestHooks: { loseDevice(): Promise<boolean> } }
      ).sparsegptTestHooks.loseDevice(),
    );
  await page.getByRole('button', { name: 'Prune', exact: true }).click();
  // Each loss strikes while the device then in use prunes a new block (replayed rows replace their own).
  for (const [row, attempt] of [
    [9, 2],
    [16, 3],
  ]) {
    await expect(rows.nth(row)).toBeVisible({ timeout: 60_000 });
    expect(await loseDevice()).toBe(true);
    await expect(page.getByText(new RegExp(`new device \\(attempt ${attempt} of 3\\)`))).toBeVisible();
  }
  await expect(rows.nth(23)).toBeVisible({ timeout: 60_000 });
  expect(await loseDevice()).toBe(true);

  const alert = page.getByRole('region', { name: /^4 Run/ }).getByRole('alert');
  await expect(alert).toContainText(
    /The GPU device was lost .* The finished blocks are kept: press Resume to go on\./,
  );
  const card = page.getByRole('region', { name: 'Unfinished run' });
  await expect(card.getByTestId('resume-offer')).toContainText(/3 of 5 blocks done/);
  await attachScreenshot(page, testInfo, 'device lost beyond the retries');
  // The page stays usable: Prune is offered again, and Resume in the alert goes on with the same dropped files.
  await expect(page.getByRole('button', { name: 'Prune', exact: true })).toBeEnabled();
  await alert.getByRole('button', { name: 'Resume' }).click();
  await expect(card).toHaveCount(0);
  // Blocks 0-2 are replayed from storage and block 3 is being pruned again.
  await expect(rows.nth(21)).toBeVisible({ timeout: 60_000 });
  // A reload part-way: the dropped folder must be picked again, and a different one is refused.
  await page.reload();
  await expect(card.getByTestId('resume-offer')).toContainText(/[3-5] of 5 blocks done/);
  await card.getByRole('button', { name: 'Resume' }).click();
  await expect(card.getByRole('button', { name: 'Pick stories260K again…' })).toBeVisible();
  const wrong = testInfo.outputPath('wrong/stories260K');
  await mkdir(wrong, { recursive: true });
  await copyFile(`${DEMO_FOLDER}/config.json`, `${wrong}/config.json`);
  await card.getByLabel('Model folder to resume with').setInputFiles(wrong);
  await expect(card.getByRole('alert')).toContainText(
    /These are not the files the run used \(.*model\.safetensors is missing.*\)\. Pick stories260K again\./,
  );
  await card.getByRole('button', { name: 'Discard' }).click();
  await expect(card).toHaveCount(0);
  await expect.poll(() => folders(page, 'progress')).toEqual([]);
  await page.reload();
  await expect(page.getByRole('heading', { name: /Model/ })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Unfinished run' })).toHaveCount(0);
  expect(errors).toEqual([]);
});

/** "24.3 s", "1 min 05 s", "250 ms" → seconds. */
function secondsOf(text: string): number {
  const minutes = /(\d+) min (\d+) s/.exec(text);
  if (minutes) return Number(minutes[1]) * 60 + Number(minutes[2]);
  const ms = /([\d.]+) ms/.exec(text);
  if (ms) return Number(ms[1]) / 1000;
  return Number.parseFloat(text);
}

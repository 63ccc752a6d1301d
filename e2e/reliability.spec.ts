/**
 * Nothing the user started is lost: a run whose GPU device is destroyed part-way resumes on a new device, and a run
 * interrupted by a reload is offered for resuming when the page comes back. Either way the pruned model is byte for
 * byte the one an uninterrupted run writes. The demo model with 8 × 64 calibration tokens and no evaluation keeps
 * this short.
 */
import { expect, type Page, test } from '@playwright/test';
import { attachScreenshot, savedBlocks } from './support';

test.describe.configure({ mode: 'serial' });

/** SHA-256 of an uninterrupted run's model.safetensors, shared by the tests of this file. */
let reference: string | undefined;

async function openDemoWithSmallSettings(page: Page): Promise<void> {
  await page.goto('/?test-hooks');
  await page.getByRole('button', { name: 'Try the demo model' }).click();
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

  const card = page.getByRole('region', { name: 'Unfinished run' });
  await expect(card.getByTestId('resume-offer')).toHaveText(
    /An unfinished run of stories260K \(SparseGPT · 50%[^,]*, 8 × 64 tokens, [2-5] of 5 blocks done\)\./,
  );
  await attachScreenshot(page, testInfo, 'unfinished run offered');
  // Only the saved blocks survive the reload: the half-written output is removed.
  const resumed = await runToTheEnd(page, () => card.getByRole('button', { name: 'Resume' }).click());
  await expect(card).toHaveCount(0);
  expect(resumed).toBe(expected);

  // The record is gone once the run is finished: a reload offers nothing.
  await page.reload();
  await expect(page.getByRole('heading', { name: /Model/ })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Unfinished run' })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a device lost more often than the retries stops the run with an alert and offers a resume', async ({
  page,
}, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await openDemoWithSmallSettings(page);

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
  // The page stays usable: Prune is offered again. (Resume is the same path as after a reload, tested above.)
  await expect(page.getByRole('button', { name: 'Prune', exact: true })).toBeEnabled();
  await card.getByRole('button', { name: 'Discard' }).click();
  await expect(card).toHaveCount(0);
  await expect.poll(() => folders(page, 'progress')).toEqual([]);
  await page.reload();
  await expect(page.getByRole('heading', { name: /Model/ })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Unfinished run' })).toHaveCount(0);
  expect(errors).toEqual([]);
});

/**
 * Resuming a run of a dropped model folder after a reload: the browser keeps no access to dropped files, so the
 * user picks the folder again. The pick is checked by the core's content fingerprint, not by file names and sizes:
 * a folder with the same names and sizes but other weights (two fine-tunes of one base look like that) is refused,
 * and the run's own folder resumes it to the end.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { attachScreenshot, DEMO_FILES, DEMO_FOLDER, demoDrop, dropFiles, savedBlocks } from './support';

/** The demo folder on disk, as `stories260K/` under `parent`; `alter` may change model.safetensors' bytes. */
async function demoCopy(parent: string, alter?: (bytes: Buffer) => void): Promise<string> {
  const folder = join(parent, 'stories260K');
  await mkdir(folder, { recursive: true });
  for (const name of DEMO_FILES) await copyFile(join(DEMO_FOLDER, name), join(folder, name));
  if (alter) {
    const bytes = await readFile(join(folder, 'model.safetensors'));
    alter(bytes);
    await writeFile(join(folder, 'model.safetensors'), bytes);
  }
  return folder;
}

test('a re-picked folder with the same file names and sizes but other weights is refused', async ({
  page,
}, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const same = await demoCopy(testInfo.outputPath('same'));
  // Another "fine-tune": one weight's lowest byte changed, at the start of the first tensor's data.
  const other = await demoCopy(testInfo.outputPath('other'), (bytes) => {
    const dataStart = 8 + Number(bytes.readBigUInt64LE(0));
    bytes[dataStart] ^= 0x01;
  });

  await page.goto('/?test-hooks');
  await dropFiles(page, demoDrop());
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await page.getByText('Advanced').click();
  await page.getByLabel('Calibration samples').fill('8');
  await page.getByLabel('Sequence length (tokens)').fill('64');
  await page.getByRole('textbox', { name: /Evaluation text/ }).fill('');
  await page.getByRole('button', { name: 'Prune', exact: true }).click();
  await expect.poll(() => savedBlocks(page), { timeout: 90_000, intervals: [100] }).toBeGreaterThanOrEqual(2);
  await page.reload();

  const card = page.getByRole('region', { name: 'Unfinished run' });
  await expect(card.getByTestId('resume-offer')).toContainText(/An unfinished run of stories260K/);
  await card.getByRole('button', { name: 'Resume' }).click();
  const pickAgain = async (folder: string) => {
    const chooser = page.waitForEvent('filechooser');
    await card.getByRole('button', { name: 'Pick stories260K again…' }).click();
    await (await chooser).setFiles(folder);
  };
  await pickAgain(other);
  await expect(card.getByRole('alert')).toContainText(
    /stories260K is not the model the run used: its weights, config or tokenizer differ/,
  );
  await attachScreenshot(page, testInfo, 'other weights refused');
  expect(await savedBlocks(page)).toBeGreaterThanOrEqual(2);

  await pickAgain(same);
  await expect(page.getByTestId('run-stage')).toHaveText('Done.', { timeout: 150_000 });
  await expect(page.getByRole('table', { name: 'Per-layer results' }).locator('tbody tr')).toHaveCount(35);
  await expect(card).toHaveCount(0);
  expect(errors).toEqual([]);
});

/**
 * Broken drops get a specific message in the page (an alert a screen reader announces), never a blank page, and
 * a good drop afterwards replaces the message with the model.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { attachScreenshot, DEMO_FOLDER, demoDrop, dropFiles } from './support';

test('a truncated checkpoint and a folder without config.json are explained in the page', async ({
  page,
}, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/');
  const model = page.getByRole('region', { name: /^1 Model/ });

  // The first 300 kB of the demo's 1 MB checkpoint, as an interrupted download leaves it.
  const weights = await readFile(`${DEMO_FOLDER}/model.safetensors`);
  await dropFiles(page, [
    ...demoDrop().filter((f) => !f.path.endsWith('.safetensors')),
    { path: 'stories260K/model.safetensors', bytes: [...weights.subarray(0, 300_000)] },
  ]);
  const alert = model.getByRole('alert');
  await expect(alert).toContainText('model.safetensors is truncated');
  await expect(alert).toContainText('was the download interrupted?');
  await attachScreenshot(page, testInfo, 'truncated checkpoint');

  await dropFiles(page, [
    { path: 'holiday/photo.png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  ]);
  await expect(alert).toContainText('has no config.json');
  // A loose file: the message says what was dropped, in a sentence that agrees with it.
  await dropFiles(page, [{ path: 'photo.png', bytes: [0x89, 0x50, 0x4e, 0x47] }]);
  await expect(alert).toContainText(
    'The dropped file photo.png is neither a model folder (there is no config.json) nor a text file. Drop the folder',
  );

  await dropFiles(page, demoDrop());
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await expect(model.getByRole('alert')).toHaveCount(0);
  expect(errors).toEqual([]);
});

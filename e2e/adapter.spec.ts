import { expect, test } from '@playwright/test';

test('the app reports a WebGPU adapter found from inside its Web Worker', async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/');
  const status = page.getByRole('region', { name: 'WebGPU status' });
  await expect(status.getByTestId('adapter-name')).toContainText(/\S+/);
  await expect(status.getByTestId('adapter-name')).toContainText('in a Web Worker');
  await testInfo.attach('start page', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
  expect(errors).toEqual([]);
});

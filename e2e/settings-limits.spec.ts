/**
 * One set of settings limits: the same bad values typed into the app's settings card, given to the CLI (a child
 * process) and to the layer solver (resolveLayerPrune) are refused with the same message, word for word.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { type LayerPruneOptions, resolveLayerPrune } from '../src/core/sparsegpt/settings';
import { DEMO, DEMO_CALIBRATION, runCli } from '../test/cli';

interface BadValue {
  name: string;
  /** Types the value into the settings card; absent where the card has no way to enter it (a slider's range). */
  ui?: (page: Page) => Promise<void>;
  cli: string[];
  /** The same value given to the solver, for the settings a single layer's solve takes. */
  solver?: LayerPruneOptions;
  message: string;
}

const field = (label: string, value: string) => (page: Page) => page.getByLabel(label).fill(value);
const custom = (n: number, m: number) => async (page: Page) => {
  await page.getByRole('radio', { name: /^Custom N:M/ }).check();
  await page.getByLabel('M (group)').fill(String(m));
  await page.getByLabel('N (zeros)').fill(String(n));
};
const DAMPENING =
  'Dampening must be above 0 and at most 1 (0% to 100% of the mean Hessian diagonal; the paper uses 0.01 = 1%)';

const CASES: BadValue[] = [
  {
    name: 'an N:M group larger than the solver holds',
    ui: custom(2, 64),
    cli: ['--pattern', '2:64'],
    solver: { pattern: { n: 2, m: 64 } },
    message: "An N:M pattern's group M can be at most 32 (the solver holds a group in registers); got 2:64.",
  },
  {
    name: 'N:M with N above M',
    ui: custom(9, 4),
    cli: ['--pattern', '9:4'],
    solver: { pattern: { n: 9, m: 4 } },
    message: 'An N:M pattern needs whole numbers with 1 ≤ N < M (N zeros in every M weights); got 9:4.',
  },
  {
    name: 'sparsity 1',
    cli: ['--sparsity', '1'],
    solver: { sparsity: 1 },
    message: 'Sparsity must be at least 0 and below 1 (100% would delete every weight); got 1.',
  },
  {
    name: 'block size 0',
    ui: field('Block size (columns)', '0'),
    cli: ['--block-size', '0'],
    solver: { blockSize: 0 },
    message: 'The block size must be a whole number of columns ≥ 1; got 0.',
  },
  {
    name: 'a fractional block size',
    ui: field('Block size (columns)', '2.5'),
    cli: ['--block-size', '2.5'],
    solver: { blockSize: 2.5 },
    message: 'The block size must be a whole number of columns ≥ 1; got 2.5.',
  },
  {
    name: 'a billion calibration samples',
    ui: field('Calibration samples', '1e9'),
    cli: ['--nsamples', '1e9'],
    message: 'Calibration samples can be at most 4096 (the paper uses 128); got 1000000000.',
  },
  {
    name: 'no calibration samples',
    ui: field('Calibration samples', '0'),
    cli: ['--nsamples', '0'],
    message: 'Calibration samples must be a whole number ≥ 1; got 0.',
  },
  {
    name: 'more calibration tokens than the cap',
    ui: async (page) => {
      await field('Calibration samples', '4096')(page);
      await field('Sequence length (tokens)', '512')(page);
    },
    cli: ['--nsamples', '4096', '--seqlen', '512'],
    message:
      'Calibration takes samples × sequence length tokens: 4096 × 512 = 2097152 is more than 1048576 (the paper ' +
      'uses 128 × 2048 = 262144); use fewer samples or shorter sequences.',
  },
  {
    name: "a sequence longer than the model's positions",
    ui: field('Sequence length (tokens)', '1024'),
    cli: ['--seqlen', '1024'],
    message: "The sequence length must be a whole number from 2 to the model's 512 positions; got 1024.",
  },
  {
    name: 'no dampening',
    ui: field('Dampening (% of mean diagonal)', '0'),
    cli: ['--damp', '0'],
    message: `${DAMPENING}; got 0.`,
  },
  {
    name: 'dampening above the mean diagonal',
    ui: field('Dampening (% of mean diagonal)', '150'),
    cli: ['--damp', '1.5'],
    message: `${DAMPENING}; got 1.5.`,
  },
  {
    name: 'no evaluation windows',
    ui: field('Evaluation windows', '0'),
    cli: ['--eval-windows', '0'],
    message: 'The evaluation window limit must be a whole number ≥ 1; got 0.',
  },
  {
    name: 'a negative seed',
    ui: field('Random seed', '-1'),
    cli: ['--seed=-1'],
    message: 'The random seed must be a whole number from 0 to 4294967295; got -1.',
  },
];

test('the app, the CLI and the solver refuse the same bad settings with the same message', async ({
  page,
}) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'Try the demo model' }).click();
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await page.getByText('Advanced').click();
  // The settings card's own list (the sweep card then also says to fix the settings first).
  const problems = page.locator('section.settings ul.problems li');
  const prune = page.getByRole('button', { name: 'Prune', exact: true });
  await expect(problems).toHaveCount(0);

  const scratch = mkdtempSync(join(tmpdir(), 'settings-limits-'));
  try {
    for (const bad of CASES) {
      await test.step(bad.name, async () => {
        if (bad.ui) {
          await bad.ui(page);
          await expect(problems, 'the app').toHaveText([bad.message]);
          await expect(prune).toBeDisabled();
          await page.getByRole('button', { name: 'Reset all settings to defaults' }).click();
          await expect(problems).toHaveCount(0);
        }

        const out = join(scratch, 'never');
        const cli = await runCli(['prune', DEMO, '--calib', DEMO_CALIBRATION, '--out', out, ...bad.cli]);
        expect(cli.err, 'the CLI').toBe(`error: ${bad.cli[0].split('=')[0]}: ${bad.message}\n`);
        expect(cli.code).toBe(2);
        expect(readdirSync(scratch)).toEqual([]);

        if (bad.solver) {
          let message = '';
          try {
            resolveLayerPrune(bad.solver, 64);
          } catch (error) {
            message = (error as Error).message;
          }
          expect(message, 'the solver').toBe(bad.message);
        }
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('a custom N:M with N above M shows no sparsity instead of a share above 100%', async ({ page }) => {
  await page.goto('/');
  await custom(9, 4)(page);
  const slider = page.locator('.slider-field');
  await expect(slider.locator('output')).toHaveText('—');
  await expect(slider).not.toContainText('225%');
  await custom(3, 4)(page);
  await expect(slider.locator('output')).toHaveText('75%');
});

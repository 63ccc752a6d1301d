/**
 * Generation in the app: after a run of the demo, the dense model and the run's pruned output continue a prompt side
 * by side, streaming into two panels with tokens per second. The greedy texts are those of the float64 reference
 * forward of each model (the pruned one read back from the browser's storage); a seed reproduces a sampled text;
 * bad settings are said beside their field; Stop stops; the controls survive a reload; after a reload and from
 * history the saved output generates again.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Locator, type Page, test } from '@playwright/test';
import { referenceLosses } from '../src/core/eval/token-losses.reference';
import { openForwardFolder } from '../src/core/pipeline/forward-model';
import { openFolder } from '../src/node/files';
import { referenceContinuation } from '../test/reference-text';
import { attachCardScreenshots, attachScreenshot, DEMO_FOLDER } from './support';

test.describe.configure({ mode: 'serial' });

const PROMPT = 'Once upon a time, there was a little girl named Lily. She';
const TOKENS = 24;
const EVALUATION = 'Tom had a red ball. He threw the ball to his dog, and the dog ran after it in the sun.';

/** The text the float64 reference's greedy continuation of the prompt adds. */
function referenceText(modelDir: string, count: number): Promise<string> {
  return referenceContinuation(modelDir, PROMPT, count);
}

/** The files of the only run folder in the origin private file system, written under `into`. */
async function copyRunOutput(page: Page, into: string): Promise<void> {
  const files = await page.evaluate(async () => {
    const runs = await (await navigator.storage.getDirectory()).getDirectoryHandle('runs');
    const out: Record<string, string> = {};
    for await (const [, run] of (
      runs as unknown as { entries(): AsyncIterable<[string, FileSystemDirectoryHandle]> }
    ).entries()) {
      for await (const [name, handle] of (
        run as unknown as { entries(): AsyncIterable<[string, FileSystemFileHandle]> }
      ).entries()) {
        const bytes = new Uint8Array(await (await handle.getFile()).arrayBuffer());
        let binary = '';
        for (let i = 0; i < bytes.length; i += 0x8000) {
          binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        }
        out[name] = btoa(binary);
      }
    }
    return out;
  });
  expect(Object.keys(files)).toContain('model.safetensors');
  for (const [name, base64] of Object.entries(files)) {
    await writeFile(join(into, name), Buffer.from(base64, 'base64'));
  }
}

function panels(page: Page): { card: Locator; dense: Locator; pruned: Locator } {
  const card = page.getByRole('region', { name: /Generate: dense and pruned/ });
  return {
    card,
    dense: card.getByRole('region', { name: 'Dense model output' }),
    pruned: card.getByRole('region', { name: 'Pruned model output' }),
  };
}

async function generateAndWait(page: Page, tokens = TOKENS): Promise<[string, string]> {
  const { card, dense, pruned } = panels(page);
  await card.getByRole('button', { name: 'Generate', exact: true }).click();
  const done = new RegExp(`^${tokens} tokens · \\d+(\\.\\d)? tokens/s`);
  await expect(dense.getByTestId('generation-speed')).toHaveText(done, { timeout: 120_000 });
  await expect(pruned.getByTestId('generation-speed')).toHaveText(done, { timeout: 120_000 });
  await expect(card.getByRole('button', { name: 'Generate', exact: true })).toBeEnabled();
  return [
    (await dense.getByTestId('generated-text').textContent()) ?? '',
    (await pruned.getByTestId('generated-text').textContent()) ?? '',
  ];
}

test('dense and pruned continuations side by side: greedy, seeded sampling, bad settings, Stop, reload, history', async ({
  page,
}, testInfo) => {
  test.setTimeout(900_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/');
  await page.getByRole('button', { name: 'Try the demo model' }).click();
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await page.getByText('Advanced').click();
  await page.getByLabel('Calibration samples').fill('8');
  await page.getByLabel('Sequence length (tokens)').fill('64');
  await page.getByRole('textbox', { name: /Evaluation text/ }).fill('');
  // No generation before a run: there is no pruned model to compare with.
  await expect(panels(page).card).toHaveCount(0);
  await page.getByRole('button', { name: 'Prune', exact: true }).click();
  await expect(page.getByTestId('run-stage')).toHaveText('Done.', { timeout: 300_000 });

  const { card, dense } = panels(page);
  await expect(card).toBeVisible();
  const prompt = card.getByRole('textbox', { name: 'Prompt' });
  await prompt.fill(PROMPT);
  await card.getByLabel('Max tokens').fill(String(TOKENS));

  // Greedy: each panel holds its model's float64 reference continuation, token for token.
  const scratch = await mkdtemp(join(tmpdir(), 'generate-e2e-'));
  try {
    const [denseText, prunedText] = await generateAndWait(page);
    await copyRunOutput(page, scratch);
    expect(denseText).toBe(await referenceText(DEMO_FOLDER, TOKENS));
    expect(prunedText).toBe(await referenceText(scratch, TOKENS));
    expect(prunedText).not.toBe(denseText);

    // The evaluation text coloured by each token's loss increase, as the float64 references of both models say.
    const colour = card.getByRole('button', { name: 'Colour the evaluation text' });
    await colour.click();
    await expect(card.getByRole('alert')).toHaveText(/Add an evaluation text/);
    await page.getByRole('textbox', { name: /Evaluation text/ }).fill(EVALUATION);
    await colour.click();
    const coloured = card.getByRole('figure', { name: 'Evaluation text coloured by loss increase' });
    await expect(coloured).toBeVisible({ timeout: 60_000 });
    await expect(card.getByRole('alert')).toHaveCount(0);
    const denseModel = await openForwardFolder(await openFolder(DEMO_FOLDER));
    const ids = Array.from(denseModel.tokenizer.encode(EVALUATION));
    const before = await referenceLosses(denseModel, ids);
    const after = await referenceLosses(await openForwardFolder(await openFolder(scratch)), ids);
    const shown = await coloured
      .locator('[data-delta]')
      .evaluateAll((spans) => spans.map((span) => Number(span.getAttribute('data-delta'))));
    expect(shown.length).toBe(ids.length - 1);
    shown.forEach((delta, i) => {
      expect(Math.abs(delta - ((after[i + 1] as number) - (before[i + 1] as number)))).toBeLessThan(1e-3);
    });
    expect(await coloured.textContent()).toBe(denseModel.tokenizer.decode(ids));
    await expect(card.getByTestId('hardest-tokens')).toContainText('Hardest for the pruned model:');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  await attachScreenshot(page, testInfo, 'generate side by side');
  await attachCardScreenshots(page, testInfo, 'card', [/Generate: dense and pruned/]);

  // Tokens stream: the dense panel grows while the generation runs; Stop ends it early.
  await card.getByLabel('Max tokens').fill('400');
  await card.getByRole('button', { name: 'Generate', exact: true }).click();
  await expect(dense.getByTestId('generation-speed')).toHaveText(/^([3-9]|\d\d) tokens/);
  await expect(card.getByRole('button', { name: 'Generate', exact: true })).toBeDisabled();
  await card.getByRole('button', { name: 'Stop' }).click();
  await expect(card.getByText('Stopped.')).toBeVisible({ timeout: 60_000 });
  const stoppedAt = Number((await dense.getByTestId('generation-speed').textContent())?.split(' ')[0]);
  expect(stoppedAt).toBeLessThan(400);

  // Seeded sampling: the same seed gives the same texts, another seed others.
  await card.getByLabel('Max tokens').fill(String(TOKENS));
  await card.getByRole('radio', { name: 'Sample' }).check();
  await card.getByLabel('Temperature').fill('1');
  await card.getByLabel('Top-p').fill('0.9');
  await card.getByLabel('Seed').fill('3');
  const first = await generateAndWait(page);
  const again = await generateAndWait(page);
  expect(again).toEqual(first);
  await card.getByLabel('Seed').fill('4');
  const other = await generateAndWait(page);
  expect(other[0]).not.toBe(first[0]);

  // Bad settings are said beside their field, and nothing runs.
  const problems: Array<[string, string, RegExp]> = [
    ['Temperature', '-1', /temperature must be 0 \(greedy\) or above; got -1/],
    ['Temperature', '0', /Sampling needs a temperature above 0/],
    ['Top-p', '1.5', /Top-p must be above 0 and at most 1 .*got 1.5/],
    ['Top-p', '0', /Top-p must be above 0 .*got 0\./],
    ['Seed', '2.5', /seed must be a whole number/],
    ['Max tokens', '0', /Max tokens must be a whole number from 1 to 1024; got 0/],
  ];
  for (const [field, value, message] of problems) {
    const input = card.getByLabel(field);
    const before = await input.inputValue();
    await input.fill(value);
    await card.getByRole('button', { name: 'Generate', exact: true }).click();
    await expect(card.getByRole('alert')).toHaveText(message);
    await expect(input).toHaveAttribute('aria-invalid', 'true');
    await input.fill(before);
    await expect(card.getByRole('alert')).toHaveCount(0);
  }
  await prompt.fill('   ');
  await card.getByRole('button', { name: 'Generate', exact: true }).click();
  await expect(card.getByRole('alert')).toHaveText('Type a prompt for the two models to continue.');
  await expect(dense.getByTestId('generated-text')).toHaveText(other[0]);

  // After a reload the result comes back, and its saved output generates again: the same greedy texts.
  await page.reload();
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await expect(card).toBeVisible();
  // The controls are kept across the reload.
  await expect(prompt).toHaveValue('   ');
  await expect(card.getByRole('radio', { name: 'Sample' })).toBeChecked();
  await expect(card.getByLabel('Seed')).toHaveValue('4');
  await expect(card.getByLabel('Top-p')).toHaveValue('0.9');
  await prompt.fill(PROMPT);
  await card.getByRole('radio', { name: 'Greedy' }).check();
  await card.getByLabel('Max tokens').fill('8');
  const afterReload = await generateAndWait(page, 8);
  expect(afterReload[0]).toBe(await referenceText(DEMO_FOLDER, 8));

  // From history: the run's Generate button targets its saved output.
  const history = page.getByRole('list', { name: 'Past runs' });
  await history.getByRole('button', { name: /^Generate with the pruned model of / }).click();
  await expect(card).toBeInViewport();
  const fromHistory = await generateAndWait(page, 8);
  expect(fromHistory).toEqual(afterReload);
  expect(errors).toEqual([]);
});

/**
 * Every control before a run, without running one: the model pickers, the text boxes and their files, the
 * settings (each kept across a reload, then reset), and what the page says about them before Prune: N:M in both
 * conventions, the layers a pattern cannot divide (said once), why the slider stops at 95%, and a text file that
 * cannot be used.
 */
import { writeFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { DEMO_FOLDER, dropFiles } from './support';

test('pickers, texts and settings say what they will do before a run', async ({ page }, testInfo) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/');
  const model = page.getByRole('region', { name: /^1 Model/ });

  // "Choose files…" with a file that is no model: the message says what was selected.
  const photo = testInfo.outputPath('photo.png');
  await writeFile(photo, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  await page.getByLabel('Model files').setInputFiles(photo);
  await expect(model.getByRole('alert')).toContainText(
    'The selected file photo.png is neither a model folder (there is no config.json) nor a text file.',
  );

  // "Choose a folder…": the demo folder as a user has it; its bundled texts are taken too.
  await page.getByLabel('Model folder', { exact: true }).setInputFiles(DEMO_FOLDER);
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await expect(model.getByRole('alert')).toHaveCount(0);
  await expect(page.getByTestId('calibration-measure')).toContainText(/\d+ samples × \d+ tokens/);

  const prune = page.getByRole('button', { name: 'Prune', exact: true });
  await expect(prune).toBeEnabled();
  // What will be pruned, by kind and shape.
  await model.getByText('Which linears are pruned').click();
  await expect(model.getByRole('listitem').filter({ hasText: 'mlp.down_proj' })).toHaveText(
    'mlp.down_proj 64×172 × 5',
  );

  // Texts: an empty file and a non-UTF-8 file are refused; the text stays, and Prune waits for a decision.
  const texts = page.getByRole('region', { name: /^2 Texts/ });
  const calibration = page.getByRole('textbox', { name: 'Calibration text' });
  const before = await calibration.inputValue();
  const empty = testInfo.outputPath('empty.txt');
  await writeFile(empty, '');
  await page.getByLabel('Calibration text file').setInputFiles(empty);
  const fileProblem = texts.getByRole('alert');
  await expect(fileProblem).toContainText('empty.txt is empty.');
  await expect(fileProblem).toContainText('The calibration text is unchanged (still calibration.txt).');
  await expect(calibration).toHaveValue(before);
  await expect(prune).toBeDisabled();
  await expect(page.locator('#prune-hint')).toHaveText(
    'empty.txt could not be used: choose another file, or keep the current calibration text.',
  );
  const latin1 = testInfo.outputPath('latin1.txt');
  await writeFile(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xe0, 0x20, 0x6c, 0x61]));
  await page.getByLabel('Calibration text file').setInputFiles(latin1);
  await expect(fileProblem).toContainText('latin1.txt is not UTF-8 text.');
  await expect(prune).toBeDisabled();
  await texts.getByRole('button', { name: 'Keep the current text' }).click();
  await expect(texts.getByRole('alert')).toHaveCount(0);
  await expect(calibration).toHaveValue(before);
  await expect(prune).toBeEnabled();

  // A good file replaces the text; a text dropped on the evaluation box goes there.
  const story = testInfo.outputPath('story.txt');
  await writeFile(story, 'Once upon a time there was a little fox who liked to read. '.repeat(40));
  await page.getByLabel('Calibration text file').setInputFiles(story);
  await expect(calibration).toHaveValue(/^Once upon a time there was a little fox/);
  await dropFiles(
    page,
    [{ path: 'held-out.txt', bytes: [...Buffer.from('The end of the story. '.repeat(30))] }],
    {
      target: 'fieldset.text-field >> nth=1',
    },
  );
  const evaluation = page.getByRole('textbox', { name: 'Evaluation text (optional)' });
  await expect(evaluation).toHaveValue(/^The end of the story\./);
  await page.getByLabel('Evaluation text (optional) file').setInputFiles(story);
  await expect(evaluation).toHaveValue(/^Once upon a time there was a little fox/);
  // The bundled samples come back with a button.
  await texts.getByRole('button', { name: 'Use the sample text' }).nth(1).click();
  await expect(evaluation).toHaveValue(/[\s\S]{5000}/);
  await expect(page.getByTestId('evaluation-measure')).toContainText(/\d+ windows? of \d+ tokens/);
  // A text too long for the box is shown as a file, which Clear empties.
  const long = testInfo.outputPath('long.txt');
  await writeFile(long, 'A long story about a cat. '.repeat(10_000));
  await page.getByLabel('Calibration text file').setInputFiles(long);
  await expect(texts.getByText(/long\.txt · \d+(\.\d)? KiB of text/)).toBeVisible();
  await texts.getByRole('button', { name: 'Clear' }).click();
  await expect(calibration).toHaveValue('');
  await expect(prune).toBeDisabled();
  await texts.getByRole('button', { name: 'Use the sample text' }).first().click();
  await expect(calibration).toHaveValue(/[\s\S]{5000}/);
  await expect(prune).toBeEnabled();

  // Method and pattern, in words: N:M in both conventions.
  await page.getByRole('radio', { name: /^Magnitude/ }).check();
  await expect(page.getByRole('radio', { name: /^Magnitude/ })).toBeChecked();
  await expect(page.getByRole('radio', { name: /^2:4/ })).toHaveAccessibleName(
    /2 zeros in every 4 weights, so 2 of 4 kept/,
  );
  const slider = page.getByRole('slider', { name: /sparsity/i });
  await expect(page.getByText(/up to 95%: beyond that a layer keeps too few weights/)).toBeVisible();
  await slider.focus();
  await page.keyboard.press('End');
  await expect(slider).toHaveValue('95');

  // 4:8 cannot divide the demo's 172-wide down_proj: said once, before the run.
  const mismatch = page.getByTestId('pattern-mismatch');
  await expect(mismatch).toHaveCount(0);
  await page.getByRole('radio', { name: /^4:8/ }).check();
  await expect(mismatch).toHaveCount(1);
  await expect(mismatch).toHaveText(
    '4:8 needs input columns that are a multiple of 8: 5 linears stay dense, mlp.down_proj (172 input columns) in ' +
      'blocks 0–4.',
  );
  await page.getByRole('radio', { name: /^Custom N:M/ }).check();
  await page.getByLabel('N (zeros)').fill('1');
  await page.getByLabel('M (group)').fill('4');
  await expect(page.getByTestId('nm-reading')).toHaveText(
    '1:4 = 1 zero in every 4 weights, 3 kept (3:4 counting kept weights)',
  );
  await expect(mismatch).toHaveCount(0);
  await page.getByLabel('M (group)').fill('8');
  await expect(mismatch).toContainText(
    '1:8 needs input columns that are a multiple of 8: 5 linears stay dense',
  );

  // Advanced: every field is kept across a reload; skipping down_proj leaves nothing for the pattern to refuse.
  await page.getByText('Advanced').click();
  await page.getByLabel('Calibration samples').fill('12');
  await page.getByLabel('Sequence length (tokens)').fill('96');
  await page.getByLabel('Block size (columns)').fill('32');
  await page.getByLabel('Dampening (% of mean diagonal)').fill('2.5');
  await page.getByLabel('Evaluation windows').fill('3');
  await page.getByLabel('Random seed').fill('7');
  await page.getByLabel('Layers to skip').fill('mlp.down_proj');
  await expect(mismatch).toHaveCount(0);
  // A limit the user set is information, not a warning.
  const limit = texts.getByText(/^Scores the first 3 of \d+ evaluation windows\.$/);
  await expect(limit).toBeVisible();
  await expect(limit).toHaveClass('info');

  // After a reload the page asks for the picked folder again (a browser keeps no access to it).
  await page.reload();
  await expect(page.getByTestId('reopen-offer')).toContainText('Last time stories260K was open.');
  await page.getByLabel('Model folder stories260K').setInputFiles(DEMO_FOLDER);
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await expect(page.getByTestId('reopen-offer')).toHaveCount(0);
  await page.getByText('Advanced').click();
  await expect(page.getByRole('radio', { name: /^Magnitude/ })).toBeChecked();
  await expect(page.getByRole('radio', { name: /^Custom N:M/ })).toBeChecked();
  await expect(page.getByLabel('N (zeros)')).toHaveValue('1');
  await expect(page.getByLabel('M (group)')).toHaveValue('8');
  await expect(page.getByLabel('Calibration samples')).toHaveValue('12');
  await expect(page.getByLabel('Sequence length (tokens)')).toHaveValue('96');
  await expect(page.getByLabel('Block size (columns)')).toHaveValue('32');
  await expect(page.getByLabel('Dampening (% of mean diagonal)')).toHaveValue('2.5');
  await expect(page.getByLabel('Evaluation windows')).toHaveValue('3');
  await expect(page.getByLabel('Random seed')).toHaveValue('7');
  await expect(page.getByLabel('Layers to skip')).toHaveValue('mlp.down_proj');

  await page.getByRole('button', { name: 'Reset all settings to defaults' }).click();
  await expect(page.getByRole('radio', { name: /^SparseGPT/ })).toBeChecked();
  await expect(page.getByRole('radio', { name: /^Unstructured/ })).toBeChecked();
  await expect(slider).toHaveValue('50');
  await expect(page.getByLabel('Calibration samples')).toHaveValue('16');
  await expect(page.getByLabel('Sequence length (tokens)')).toHaveValue('128');
  await expect(page.getByLabel('Block size (columns)')).toHaveValue('128');
  await expect(page.getByLabel('Dampening (% of mean diagonal)')).toHaveValue('1');
  await expect(page.getByLabel('Evaluation windows')).toHaveValue('16');
  await expect(page.getByLabel('Random seed')).toHaveValue('0');
  await expect(page.getByLabel('Layers to skip')).toHaveValue('');
  expect(errors).toEqual([]);
});

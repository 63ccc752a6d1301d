/**
 * Shared steps of the end-to-end specs: dropping files onto the page the way a file manager does, reading the
 * downloaded ZIP, and comparing a pruned model folder with its input through the core's checkpoint reader.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { expect, type Page, type TestInfo } from '@playwright/test';
import { openCheckpoint } from '../src/core/io/checkpoint';
import { openFolder } from '../src/node/files';

export const DEMO_FOLDER = resolve(import.meta.dirname, '../public/demo/stories260K');

/** The demo folder as a user has it on disk: the model files plus the two sample texts. */
export const DEMO_FILES = [
  'config.json',
  'generation_config.json',
  'model.safetensors',
  'tokenizer.json',
  'tokenizer_config.json',
  'calibration.txt',
  'evaluation.txt',
];

export interface DroppedFile {
  /** Path as a file manager gives it, with the dropped folder first ("stories260K/config.json"). */
  path: string;
  /** Fetched from the app's server (a path under public/). */
  url?: string;
  /** Or these bytes. */
  bytes?: number[];
}

/**
 * Dispatches dragenter, dragover and drop on the page with a DataTransfer of real File objects, as a drag from a
 * file manager does (on the page, or on `target`, a selector). Scripts cannot build directory entries, so each
 * File carries its folder path in webkitRelativePath, which the page reads for loose files.
 */
export async function dropFiles(
  page: Page,
  files: DroppedFile[],
  { target = 'body' }: { target?: string } = {},
): Promise<void> {
  const transfer = await page.evaluateHandle(async (list: DroppedFile[]) => {
    const data = new DataTransfer();
    for (const { path, url, bytes } of list) {
      const blob = url ? await (await fetch(url)).blob() : new Blob([new Uint8Array(bytes ?? [])]);
      const file = new File([blob], path.split('/').pop() as string);
      if (path.includes('/')) Object.defineProperty(file, 'webkitRelativePath', { value: path });
      data.items.add(file);
    }
    return data;
  }, files);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    await page.dispatchEvent(target, type, { dataTransfer: transfer });
  }
  await transfer.dispose();
}

export function demoDrop(): DroppedFile[] {
  return DEMO_FILES.map((name) => ({ path: `stories260K/${name}`, url: `/demo/stories260K/${name}` }));
}

/** Finished blocks saved in the origin private file system, in all progress folders together (0 when none). */
export function savedBlocks(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('progress', {
      create: true,
    });
    let count = 0;
    for await (const [, run] of (
      root as unknown as { entries(): AsyncIterable<[string, FileSystemDirectoryHandle]> }
    ).entries()) {
      for await (const name of (run as unknown as { keys(): AsyncIterable<string> }).keys()) {
        if (/^block-\d+\.safetensors$/.test(name)) count++;
      }
    }
    return count;
  });
}

export async function attachScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const body = await page.screenshot({ fullPage: true });
  await testInfo.attach(name, { body, contentType: 'image/png' });
  // Also as a plain file, for people reading the results folder rather than the report.
  await writeFile(testInfo.outputPath(`${name.replaceAll(/[^\w-]+/g, '-')}.png`), body);
}

/** One picture per card, for narrow widths where a whole-page picture is too tall to read. */
export async function attachCardScreenshots(
  page: Page,
  testInfo: TestInfo,
  prefix: string,
  cards: RegExp[],
): Promise<void> {
  for (const name of cards) {
    const body = await page.getByRole('region', { name }).screenshot();
    const label = `${prefix} ${name.source.replaceAll(/[^\w ]+/g, '')}`.trim();
    await testInfo.attach(label, { body, contentType: 'image/png' });
    await writeFile(testInfo.outputPath(`${label.replaceAll(/[^\w-]+/g, '-')}.png`), body);
  }
}

/**
 * Reads a stored (uncompressed) ZIP the way unzip does (end record → central directory → local headers) and
 * writes its files under `into`. Independent of the app's writer; checks each CRC-32.
 */
export async function extractStoredZip(archive: Uint8Array, into: string): Promise<string[]> {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  let end = archive.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a ZIP: no end-of-central-directory record');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error(`bad central header at ${at}`);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(archive.subarray(at + 46, at + 46 + nameLength));
    if (method !== 0) throw new Error(`${name} is compressed (method ${method}); expected stored`);
    const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = archive.subarray(dataStart, dataStart + size);
    if (crc32(data) !== crc) throw new Error(`${name}: CRC-32 mismatch`);
    const target = join(into, name);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
    names.push(name);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const PRUNABLE = /\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/;

export interface OutputCheck {
  prunedTensors: number;
  untouchedTensors: number;
  /** Zeros over elements, per pruned tensor. */
  sparsity: Map<string, number>;
}

/**
 * Opens a pruned model folder with the core reader and checks it against the demo input: the same tensors with the
 * same dtypes and shapes, every linear of every block pruned N:M (at least N zeros in each group of M along a row),
 * every other tensor byte for byte as it was.
 */
export async function checkPrunedDemo(
  folder: string,
  pattern: { n: number; m: number },
): Promise<OutputCheck> {
  const input = await openCheckpoint(await openFolder(DEMO_FOLDER));
  const output = await openCheckpoint(await openFolder(folder));
  expect(output.tensors.map((t) => t.name).sort()).toEqual(input.tensors.map((t) => t.name).sort());
  const check: OutputCheck = { prunedTensors: 0, untouchedTensors: 0, sparsity: new Map() };
  for (const tensor of input.tensors) {
    const written = output.tensor(tensor.name);
    expect(written.dtype, tensor.name).toBe(tensor.dtype);
    expect(written.shape, tensor.name).toEqual(tensor.shape);
    if (PRUNABLE.test(tensor.name)) {
      const values = await output.readFloat32(tensor.name);
      const cols = tensor.shape[1];
      let zeros = 0;
      let groupsShort = 0;
      for (let start = 0; start < values.length; start += pattern.m) {
        let groupZeros = 0;
        // Groups run along a row (the input dimension) and never straddle two rows.
        const stop = Math.min(start + pattern.m, values.length, (Math.floor(start / cols) + 1) * cols);
        for (let i = start; i < stop; i++) if (values[i] === 0) groupZeros++;
        if (stop - start === pattern.m && groupZeros < pattern.n) groupsShort++;
        zeros += groupZeros;
      }
      expect(groupsShort, `${tensor.name}: groups of ${pattern.m} with fewer than ${pattern.n} zeros`).toBe(
        0,
      );
      check.sparsity.set(tensor.name, zeros / values.length);
      check.prunedTensors++;
    } else {
      const [before, after] = await Promise.all([
        input.readBytes(tensor.name),
        output.readBytes(tensor.name),
      ]);
      expect(Buffer.from(after).equals(Buffer.from(before)), `${tensor.name} is unchanged`).toBe(true);
      check.untouchedTensors++;
    }
  }
  return check;
}

/**
 * The demo opened from its button with a small calibration (8 samples × 128 tokens) and `windows` evaluation
 * windows, so that each run is short. Returns the page errors seen from here on (a spec expects none).
 */
export async function openSmallDemo(page: Page, windows: number): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/');
  await page.getByRole('button', { name: 'Try the demo model' }).click();
  await expect(page.getByTestId('model-name')).toHaveText('stories260K');
  await page.getByText('Advanced').click();
  await page.getByLabel('Calibration samples').fill('8');
  await page.getByLabel('Sequence length (tokens)').fill('128');
  await page.getByLabel('Evaluation windows').fill(String(windows));
  return errors;
}

/**
 * The demo dropped as files into a page without the File System Access picker, so that Save downloads (one file or
 * a ZIP) instead of asking for a folder. Returns the page errors seen from here on (a spec expects none).
 */
export async function dropDemoForDownload(page: Page): Promise<string[]> {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.addInitScript(() => {
    Object.defineProperty(window, 'showDirectoryPicker', { value: undefined, configurable: true });
  });
  await page.goto('/');
  await dropFiles(page, demoDrop());
  // Opening the demo takes seconds, more on a machine whose cores other jobs share.
  await expect(page.getByTestId('model-name')).toHaveText('stories260K', { timeout: 120_000 });
  return errors;
}

/**
 * The bundled demo folder (public/demo/stories260K) as the app loads it: files fetched by URL into Blobs, then
 * read through the same checkpoint, config and tokenizer code as a user's folder.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModelConfig } from '../model/config';
import { loadTokenizer } from '../tokenizer/load-tokenizer';
import type { ByteSource } from './bytes';
import { openCheckpoint } from './checkpoint';
import { DEMO_MODEL, fetchModelFolder } from './fetch-folder';
import { folderFromBlobs, folderFromFiles, readTextFile } from './folder';

const publicDir = new URL('../../../public/', import.meta.url);
const demo = new URL(DEMO_MODEL.path, publicDir);
const shared = new URL('../../../../shared/', import.meta.url);

/** Serves files under public/ the way the dev server does; anything else is a 404. */
const servePublic: typeof fetch = async (input) => {
  const url = new URL(String(input));
  try {
    return new Response(readFileSync(url));
  } catch {
    return new Response('not found', { status: 404 });
  }
};

describe('the bundled demo model', () => {
  it('opens like a user folder: config, tokenizer, 47 F32 tensors equal to the shared model', async () => {
    const folder = await fetchModelFolder(demo, DEMO_MODEL.files, DEMO_MODEL.name, servePublic);
    expect(folder.name).toBe('stories260K');
    expect([...folder.files.keys()]).toEqual([...DEMO_MODEL.files].sort());
    const config = await loadModelConfig(folder);
    expect(config).toMatchObject({ family: 'llama', numLayers: 5, vocabSize: 512 });
    const tokenizer = await loadTokenizer(folder, config);
    expect(tokenizer.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    const checkpoint = await openCheckpoint(folder);
    expect(checkpoint.tensors).toHaveLength(47);
    const weights = await checkpoint.source('model.safetensors').read(0, checkpoint.files[0].fileSize);
    expect(
      Buffer.from(weights).equals(readFileSync(new URL('models/stories260K/model.safetensors', shared))),
    ).toBe(true);
  });

  it('has calibration and evaluation texts from disjoint parts of the samples, about 32 kB each', async () => {
    const samples = readFileSync(new URL('data/stories260K-samples/samples.txt', shared), 'utf8');
    const calibration = readFileSync(new URL(DEMO_MODEL.calibrationText, demo), 'utf8');
    const evaluation = readFileSync(new URL(DEMO_MODEL.evaluationText, demo), 'utf8');
    for (const text of [calibration, evaluation]) {
      expect(text.length).toBeGreaterThan(20_000);
      expect(text.length).toBeLessThan(40_000);
    }
    expect(samples.startsWith(calibration)).toBe(true);
    expect(samples.endsWith(evaluation)).toBe(true);
    expect(calibration.length + evaluation.length).toBeLessThan(samples.length);
    expect(readFileSync(new URL('PROVENANCE.md', demo), 'utf8')).toMatch(/License: MIT/);
  });

  it('names a file the server does not have', async () => {
    await expect(
      fetchModelFolder(demo, ['config.json', 'nope.json'], 'x', servePublic),
    ).rejects.toMatchObject({
      code: 'missing-file',
      message: expect.stringMatching(/could not download nope\.json: .* answered 404/),
    });
  });
});

describe('folders from picked or dropped files', () => {
  const blob = (text: string) => new Blob([text]);

  it('strips the common top folder and names the folder after it, skipping hidden files', async () => {
    const folder = folderFromBlobs([
      ['stories260K/config.json', blob('{}')],
      ['stories260K/original/params.json', blob('{"dim": 64}')],
      ['stories260K/.cache/huggingface/x', blob('')],
    ]);
    expect(folder.name).toBe('stories260K');
    expect([...folder.files.keys()]).toEqual(['config.json', 'original/params.json']);
    expect(await readTextFile(folder.files.get('original/params.json') as ByteSource)).toBe('{"dim": 64}');
  });

  it('keeps loose files as they are, and uses webkitRelativePath of a FileList', () => {
    expect(
      folderFromBlobs([
        ['model.safetensors', blob('')],
        ['config.json', blob('')],
      ]).name,
    ).toBe('selected files');
    const file = Object.assign(new File(['{}'], 'config.json'), { webkitRelativePath: 'tiny/config.json' });
    const folder = folderFromFiles([file]);
    expect(folder.name).toBe('tiny');
    expect([...folder.files.keys()]).toEqual(['config.json']);
  });
});

/** The issue's bad-input list: each case gives one ModelFileError with a specific code and a message naming it. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type FixtureTensor,
  f32Bytes,
  rawSafetensors,
  validSafetensors,
} from '../../../test/safetensors-fixtures';
import { loadModelConfig } from '../model/config';
import { loadTokenizer } from '../tokenizer/load-tokenizer';
import { type ByteSource, memoryByteSource } from './bytes';
import { openCheckpoint, openSafetensorsFile } from './checkpoint';
import { ModelFileError } from './errors';
import { createModelFolder } from './folder';

const shared = new URL('../../../../shared/models/stories260K/', import.meta.url);
const demo = new URL('../../../public/demo/stories260K/', import.meta.url);
const modelBytes = new Uint8Array(readFileSync(new URL('model.safetensors', shared)));
const text = (value: string | object) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const source = (name: string, bytes: Uint8Array): [string, ByteSource] => [
  name,
  memoryByteSource(bytes, name),
];

async function failure(promise: Promise<unknown>): Promise<ModelFileError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelFileError);
  return error as ModelFileError;
}

const openFile = (bytes: Uint8Array, name = 'model.safetensors') =>
  failure(openSafetensorsFile(memoryByteSource(bytes, name)));

const good = { x: { dtype: 'F32', shape: [2, 2], data: f32Bytes([1, 2, 3, 4]) } };

describe('bad safetensors files', () => {
  it('truncated file: names the tensor, the bytes it needs and where the file ends', async () => {
    const error = await openFile(modelBytes.subarray(0, modelBytes.length - 1000));
    expect(error.code).toBe('truncated');
    expect(error.message).toMatch(
      /^model\.safetensors is truncated: tensor (\S+) needs bytes \d+–\d+ but the file ends at byte 1044088/,
    );
    expect(error.tensor).toBeTruthy();
  });

  it('garbage header', async () => {
    const error = await openFile(rawSafetensors('{"x": [1, 2,, oops'));
    expect(error).toMatchObject({ code: 'bad-header', file: 'model.safetensors' });
    expect(error.message).toMatch(/header is not valid JSON/);
    expect((await openFile(rawSafetensors('"just a string"'))).code).toBe('bad-header');
    const notUtf8 = rawSafetensors('{"a":1}');
    notUtf8[10] = 0xff;
    expect((await openFile(notUtf8)).message).toMatch(/not valid UTF-8/);
  });

  it('header claiming 10 GB, and tensors claiming 10 GB of data', async () => {
    const error = await openFile(rawSafetensors('{}', new Uint8Array(0), 10_000_000_000));
    expect(error.code).toBe('header-too-large');
    expect(error.message).toMatch(/claims 10\.0 GB, more than the 100 MB limit/);
    const huge = rawSafetensors({
      w: { dtype: 'F32', shape: [50_000, 50_000], data_offsets: [0, 10_000_000_000] },
    });
    const data = await openFile(huge);
    expect(data.code).toBe('truncated');
    expect(data.message).toMatch(/tensor w needs bytes .* \(10\.0 GB missing/);
  });

  it('overlapping tensors, gaps, and bytes after the last tensor', async () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    const overlap = await openFile(rawSafetensors(header, new Uint8Array(12)));
    expect(overlap).toMatchObject({ code: 'overlap', tensor: 'b' });
    expect(overlap.message).toMatch(/tensor b .* overlaps tensor a/);
    const gap = { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    expect((await openFile(rawSafetensors(gap, new Uint8Array(8)))).code).toBe('gap');
    const trailing = new Uint8Array([...validSafetensors(good), 0, 0]);
    expect((await openFile(trailing)).code).toBe('trailing-bytes');
  });

  it('unknown dtype', async () => {
    const error = await openFile(
      rawSafetensors({ w: { dtype: 'Q4_K', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)),
    );
    expect(error).toMatchObject({ code: 'unknown-dtype', tensor: 'w' });
    expect(error.message).toMatch(
      /tensor w has dtype "Q4_K", which safetensors does not define \(known: BOOL, F4/,
    );
  });

  it('shape × dtype size that does not match the byte range', async () => {
    const error = await openFile(
      rawSafetensors({ w: { dtype: 'F16', shape: [3, 4], data_offsets: [0, 20] } }, new Uint8Array(20)),
    );
    expect(error).toMatchObject({ code: 'size-mismatch', tensor: 'w' });
    expect(error.message).toMatch(
      /shape \[3, 4\] of F16, which needs 24 bytes, but its data_offsets span 20 bytes/,
    );
    const shape = await openFile(
      rawSafetensors({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, new Uint8Array(8)),
    );
    expect(shape.code).toBe('bad-shape');
  });

  it('empty file', async () => {
    const error = await openFile(new Uint8Array(0));
    expect(error.code).toBe('empty-file');
    expect(error.message).toMatch(/model\.safetensors is empty/);
  });

  it('a PNG or a PyTorch zip dropped by mistake', async () => {
    const png = new Uint8Array([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
    ]);
    const error = await openFile(png, 'cat.safetensors');
    expect(error.code).toBe('not-safetensors');
    expect(error.message).toBe('cat.safetensors is not a safetensors file: it looks like a PNG image');
    const zip = new Uint8Array(64);
    zip.set([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]);
    expect((await openFile(zip)).message).toMatch(/zip archive \(PyTorch/);
    const bin = await failure(
      openCheckpoint(
        createModelFolder('opt', [source('config.json', text({})), source('pytorch_model.bin', zip)]),
      ),
    );
    expect(bin.code).toBe('unsupported-weights');
    expect(bin.message).toMatch(
      /PyTorch weights \(pytorch_model\.bin\) but no \.safetensors file.*save_pretrained/,
    );
  });

  it('__metadata__ that is not string → string', async () => {
    const file = rawSafetensors(
      { __metadata__: { step: 5 }, x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } },
      new Uint8Array(4),
    );
    expect((await openFile(file)).code).toBe('bad-metadata');
  });
});

describe('bad checkpoints', () => {
  const shard = (name: string, tensors: Record<string, FixtureTensor> = good) =>
    source(name, validSafetensors(tensors));

  it('a shard missing from the index', async () => {
    const index = {
      weight_map: {
        x: 'model-00001-of-00002.safetensors',
        'model.layers.9.mlp.up_proj.weight': 'model-00002-of-00002.safetensors',
      },
    };
    const folder = createModelFolder('big-model', [
      shard('model-00001-of-00002.safetensors'),
      source('model.safetensors.index.json', text(index)),
    ]);
    const error = await failure(openCheckpoint(folder));
    expect(error).toMatchObject({ code: 'missing-shard', file: 'model-00002-of-00002.safetensors' });
    expect(error.message).toMatch(
      /big-model is incomplete: model\.safetensors\.index\.json lists model-00002-of-00002\.safetensors .*model\.layers\.9\.mlp\.up_proj\.weight/,
    );
  });

  it('an index that disagrees with its shards, duplicate tensors, broken index JSON', async () => {
    const wrong = { weight_map: { y: 'a.safetensors' } };
    const mismatch = await failure(
      openCheckpoint(
        createModelFolder('m', [shard('a.safetensors'), source('model.safetensors.index.json', text(wrong))]),
      ),
    );
    expect(mismatch.code).toBe('bad-index');
    const twice = { weight_map: { x: 'a.safetensors', z: 'b.safetensors' } };
    const duplicate = await failure(
      openCheckpoint(
        createModelFolder('m', [
          shard('a.safetensors'),
          shard('b.safetensors', { ...good, z: good.x }),
          source('model.safetensors.index.json', text(twice)),
        ]),
      ),
    );
    expect(duplicate.code).toBe('duplicate-tensor');
    const broken = await failure(
      openCheckpoint(
        createModelFolder('m', [
          shard('a.safetensors'),
          source('model.safetensors.index.json', text('{"weight_map": ')),
        ]),
      ),
    );
    expect(broken.code).toBe('bad-json');
    expect(broken.message).toMatch(/model\.safetensors\.index\.json is not valid JSON/);
  });

  it('no weights at all, or several files with no index', async () => {
    expect(
      (await failure(openCheckpoint(createModelFolder('m', [source('config.json', text({}))])))).code,
    ).toBe('missing-weights');
    const several = await failure(
      openCheckpoint(createModelFolder('m', [shard('a.safetensors'), shard('b.safetensors')])),
    );
    expect(several.message).toMatch(/several \.safetensors files \(a\.safetensors, b\.safetensors\)/);
  });
});

describe('bad configs and tokenizers', () => {
  const config = readFileSync(new URL('config.json', shared));
  const tokenizer = readFileSync(new URL('tokenizer.json', demo));

  it('missing config', async () => {
    const error = await failure(
      loadModelConfig(createModelFolder('weights-only', [source('model.safetensors', modelBytes)])),
    );
    expect(error.code).toBe('missing-config');
    expect(error.message).toMatch(/weights-only has no config\.json/);
    const nested = await failure(
      loadModelConfig(createModelFolder('parent', [source('inner/config.json', config)])),
    );
    expect(nested.message).toMatch(/There is one in inner\/: choose that folder instead/);
  });

  it('unsupported architecture', async () => {
    const folder = createModelFolder('falcon', [
      source('config.json', text({ model_type: 'falcon', hidden_size: 64 })),
    ]);
    const error = await failure(loadModelConfig(folder));
    expect(error.code).toBe('unsupported-architecture');
    expect(error.message).toMatch(
      /model_type "falcon" is not supported\. Supported: llama, mistral, qwen2 .*opt and gpt2/,
    );
  });

  it('missing tokenizer, half a GPT-2 tokenizer, mismatched tokenizer', async () => {
    const parsed = await loadModelConfig(createModelFolder('m', [source('config.json', config)]));
    const missing = await failure(
      loadTokenizer(createModelFolder('m', [source('config.json', config)]), parsed),
    );
    expect(missing.code).toBe('missing-tokenizer');
    expect(missing.message).toMatch(
      /m has no tokenizer: expected tokenizer\.json \(or vocab\.json and merges\.txt\)/,
    );
    const half = await failure(
      loadTokenizer(createModelFolder('m', [source('vocab.json', text({ a: 0 }))]), parsed),
    );
    expect(half.message).toMatch(/has vocab\.json but no merges\.txt/);
    const spm = await failure(
      loadTokenizer(createModelFolder('m', [source('tokenizer.model', new Uint8Array(4))]), parsed),
    );
    expect(spm.message).toMatch(/only tokenizer\.model \(sentencepiece\)/);
    const smaller = { ...parsed, vocabSize: 256 };
    const mismatch = await failure(
      loadTokenizer(createModelFolder('m', [source('tokenizer.json', tokenizer)]), smaller),
    );
    expect(mismatch.code).toBe('tokenizer-mismatch');
    expect(mismatch.message).toMatch(
      /has 512 tokens but the model's vocab_size is 256: this tokenizer belongs to a different model/,
    );
    const garbage = await failure(
      loadTokenizer(createModelFolder('m', [source('tokenizer.json', text({ nothing: 1 }))]), parsed),
    );
    expect(garbage.code).toBe('bad-tokenizer');
  });
});

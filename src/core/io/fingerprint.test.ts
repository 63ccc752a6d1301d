/**
 * What the model fingerprint covers (see fingerprint.ts): every header byte, config and tokenizer files, and the
 * sampled bytes of every tensor; not the bytes between the samples of a large tensor, and not file or folder names
 * outside the model's own.
 */
import { describe, expect, it } from 'vitest';
import { memoryByteSource } from './bytes';
import { openCheckpoint } from './checkpoint';
import { ChainedHash, modelFingerprint, SAMPLE_BYTES, sha256Hex } from './fingerprint';
import { createModelFolder } from './folder';
import { encodeSafetensors } from './safetensors-write';

const LARGE = 16 * SAMPLE_BYTES; // bytes of the large tensor: sampled at start, middle and end

function folderBytes(): Uint8Array {
  let bytes = new Uint8Array();
  folder((w) => void (bytes = w.slice()));
  return bytes;
}

function folder(
  edit: (weights: Uint8Array) => void = () => undefined,
  config = '{"model_type":"llama"}',
  readme = '# notes',
) {
  const weights = encodeSafetensors(
    [
      {
        name: 'large',
        dtype: 'U8',
        shape: [LARGE],
        data: Uint8Array.from({ length: LARGE }, (_, i) => i % 251),
      },
      { name: 'small', dtype: 'U8', shape: [100], data: new Uint8Array(100).fill(7) },
    ],
    { note: 'aaaa' },
  );
  edit(weights);
  return createModelFolder('m', [
    ['model.safetensors', memoryByteSource(weights, 'model.safetensors')],
    ['config.json', memoryByteSource(new TextEncoder().encode(config), 'config.json')],
    ['README.md', memoryByteSource(new TextEncoder().encode(readme), 'README.md')],
  ]);
}

async function fingerprint(model: ReturnType<typeof folder>): Promise<string> {
  return modelFingerprint(model, await openCheckpoint(model));
}

/** Offset in the file of byte `index` of tensor `name`. */
async function at(name: string, index: number): Promise<number> {
  const checkpoint = await openCheckpoint(folder());
  return checkpoint.tensor(name).byteStart + index;
}

describe('model fingerprint', () => {
  it('is a SHA-256 that changes with sampled bytes, headers and the config', async () => {
    const base = await fingerprint(folder());
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprint(folder())).toBe(base);
    const flips = [
      await at('large', 0),
      await at('large', LARGE / 2),
      await at('large', LARGE - 1),
      await at('small', 50),
      Buffer.from(folderBytes()).indexOf('aaaa'), // the header's __metadata__
    ];
    for (const offset of flips) {
      expect(await fingerprint(folder((w) => void (w[offset] ^= 1))), `byte ${offset}`).not.toBe(base);
    }
    expect(await fingerprint(folder(undefined, '{"model_type":"mistral"}'))).not.toBe(base);
  });

  it('does not see bytes between the samples of a large tensor, nor files outside the model', async () => {
    const base = await fingerprint(folder());
    const between = await at('large', 2 * SAMPLE_BYTES);
    expect(await fingerprint(folder((w) => void (w[between] ^= 1)))).toBe(base);
    expect(await fingerprint(folder(undefined, undefined, '# other notes'))).toBe(base);
  });
});

describe('chained hash', () => {
  it('equals SHA-256 of the state and the bytes, piece by piece, and separates fields', async () => {
    const hash = new ChainedHash();
    await hash.add('abc');
    const expected = await sha256Hex(
      new Uint8Array([...new Uint8Array(32), ...new TextEncoder().encode('abc')]),
    );
    expect(await hash.hex()).toBe(expected);
    const a = new ChainedHash();
    await a.field('ab');
    await a.field('c');
    const b = new ChainedHash();
    await b.field('a');
    await b.field('bc');
    expect(await a.hex()).not.toBe(await b.hex());
  });
});

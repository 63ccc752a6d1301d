/**
 * GPT-2/OPT style folders (vocab.json + merges.txt): a tiny byte-level BPE vocabulary whose ids for a few texts are
 * worked out by hand below, loaded through loadTokenizer.
 */
import { describe, expect, it } from 'vitest';
import { memoryByteSource } from '../io/bytes';
import { createModelFolder } from '../io/folder';
import type { ModelConfig } from '../model/types';
import { loadTokenizer } from './load-tokenizer';

/** GPT-2's byte → printable character table: printable Latin-1 bytes map to themselves, the rest to U+0100 on. */
function byteCharacters(): string[] {
  const table: string[] = [];
  let next = 256;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || byte >= 174;
    table.push(String.fromCodePoint(printable ? byte : next++));
  }
  return table;
}

const bytes = byteCharacters();
const vocab: Record<string, number> = Object.fromEntries(bytes.map((c, id) => [c, id]));
// Ranked merges: "Ġ" is the space byte 0x20, "Ã©" is é (0xC3 0xA9).
const merges = [
  ['h', 'e'],
  ['Ġ', 'he'],
  ['l', 'o'],
  ['Ã', '©'],
];
Object.assign(vocab, { he: 256, Ġhe: 257, lo: 258, 'Ã©': 259, '<|endoftext|>': 260 });

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const mergesText = `#version: 0.2\n${merges.map((pair) => pair.join(' ')).join('\n')}\n`;

function folder(extra: [string, Uint8Array][] = []) {
  return createModelFolder(
    'tiny-gpt2',
    [['vocab.json', json(vocab)], ['merges.txt', new TextEncoder().encode(mergesText)], ...extra].map(
      ([path, data]) => [path as string, memoryByteSource(data as Uint8Array, path as string)],
    ),
  );
}

const id = (character: string) => vocab[character];

describe('vocab.json + merges.txt', () => {
  it('encodes like GPT-2: byte-level, ranked merges, special tokens split out, no BOS', async () => {
    const tokenizer = await loadTokenizer(
      folder([['special_tokens_map.json', json({ eos_token: '<|endoftext|>', bos_token: '<|endoftext|>' })]]),
    );
    expect(tokenizer.source).toBe('vocab.json + merges.txt');
    expect(tokenizer).toMatchObject({ vocabSize: 261, bosId: 260, eosId: 260, addsBos: false });
    // "hello" → h e l l o → he l l o → he l lo; " he" → Ġ h e → Ġ he → Ġhe; "é" → Ã © → Ã©.
    expect(tokenizer.encode('hello he')).toEqual([256, id('l'), 258, 257]);
    expect(tokenizer.encode('é!<|endoftext|>')).toEqual([259, id('!'), 260]);
    expect(tokenizer.encode('\n')).toEqual([id('Ċ')]);
    expect(tokenizer.decode([256, id('l'), 258, 257, 259, 260])).toBe('hello heé');
  });

  it('OPT: BOS </s> first by default, and add_prefix_space from tokenizer_config.json', async () => {
    const opt = { family: 'opt', vocabSize: 300, bosTokenId: 260, eosTokenId: 260 } as ModelConfig;
    const tokenizer = await loadTokenizer(folder(), opt);
    expect(tokenizer.addsBos).toBe(true);
    expect(tokenizer.encode('he')).toEqual([260, 256]);
    const prefixed = await loadTokenizer(
      folder([['tokenizer_config.json', json({ add_prefix_space: true, add_bos_token: false })]]),
      opt,
    );
    expect(prefixed.encode('he')).toEqual([257]);
  });

  it('rejects a broken merges.txt with the line', async () => {
    const broken = createModelFolder('m', [
      ['vocab.json', memoryByteSource(json(vocab), 'vocab.json')],
      ['merges.txt', memoryByteSource(new TextEncoder().encode('h e\nthree parts here\n'), 'merges.txt')],
    ]);
    await expect(loadTokenizer(broken)).rejects.toMatchObject({
      code: 'bad-tokenizer',
      message: 'merges.txt line 2 is not a pair "left right": three parts here',
    });
  });
});

/**
 * The demo model's tokenizer.json (converted from llama2.c's tok512.bin) against the model's golden ids and
 * against a port of llama2.c's own encoder, through Hugging Face's tokenizers.js.
 */
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { memoryByteSource } from '../io/bytes';
import { createModelFolder } from '../io/folder';
import { llama2cTokenizerJson, parseLlama2cTokenizer } from './llama2c';
import { type Llama2cTokenizerFile, llama2cEncode } from './llama2c-encode.reference';
import { loadTokenizer } from './load-tokenizer';

const shared = new URL('../../../../shared/', import.meta.url);
const demo = new URL('../../../public/demo/stories260K/', import.meta.url);
const model = new URL('models/stories260K/', shared);
const readJson = (url: URL) => JSON.parse(readFileSync(url, 'utf8'));

const golden = readJson(new URL('golden_llama2c.json', model));
const tok512: Llama2cTokenizerFile = readJson(new URL('tok512.json', model));
const tokenizerJson = readJson(new URL('tokenizer.json', demo));
const tokenizerConfig = readJson(new URL('tokenizer_config.json', demo));

/** Hugging Face's "wikitext-2-raw-v1" rows: one per line with its newline, whitespace-only lines empty. */
function wikitextRows(raw: string): string[] {
  return raw.split(/(?<=\n)/).map((line) => (line.trim() === '' ? '' : line));
}

const wikitext = wikitextRows(
  readFileSync(new URL('data/wikitext-2-raw/wiki.test.raw', shared), 'utf8'),
).join('\n\n');
// Python slices by code point.
const wikitextPrefix = Array.from(wikitext).slice(0, golden.wikitext_prefix_chars).join('');
const samples = readFileSync(new URL('data/stories260K-samples/samples.txt', shared), 'utf8');

async function demoTokenizer() {
  const folder = createModelFolder('stories260K', [
    ['tokenizer.json', memoryByteSource(readFileSync(new URL('tokenizer.json', demo)), 'tokenizer.json')],
    [
      'tokenizer_config.json',
      memoryByteSource(readFileSync(new URL('tokenizer_config.json', demo)), 'tokenizer_config.json'),
    ],
  ]);
  return loadTokenizer(folder);
}

describe('demo tokenizer.json against golden_llama2c.json', () => {
  const raw = new Tokenizer(tokenizerJson, tokenizerConfig);
  const encode = (text: string) => raw.encode(text).ids;

  it('reproduces prompt and story sentence ids through @huggingface/tokenizers', () => {
    expect(encode(golden.prompt)).toEqual(golden.prompt_ids);
    expect(encode(golden.story_sentence)).toEqual(golden.story_sentence_ids);
  });

  it('reproduces the wikitext prefix: first ids and token count', () => {
    const ids = encode(wikitextPrefix);
    expect(ids.length).toBe(golden.wikitext_prefix_num_tokens);
    expect(ids.slice(0, golden.wikitext_prefix_first_ids.length)).toEqual(golden.wikitext_prefix_first_ids);
  });

  it('gives the same ids through loadTokenizer, with BOS 1 and EOS 2', async () => {
    const tokenizer = await demoTokenizer();
    expect(tokenizer).toMatchObject({ bosId: 1, eosId: 2, addsBos: true, vocabSize: 512 });
    expect(tokenizer.encode(golden.story_sentence)).toEqual(golden.story_sentence_ids);
    expect(tokenizer.encode(golden.prompt, { addBos: false })).toEqual(golden.prompt_ids.slice(1));
    expect(tokenizer.decode(golden.story_sentence_ids)).toBe(golden.story_sentence);
  });

  it('is what the converter makes of tok512.bin today', () => {
    const vocab = parseLlama2cTokenizer(new Uint8Array(readFileSync(new URL('tok512.bin', model))));
    expect(llama2cTokenizerJson(vocab)).toEqual(tokenizerJson);
  });
});

describe('demo tokenizer.json against a port of llama2.c encode', () => {
  const texts: [string, string][] = [
    ['empty', ''],
    ['one space', ' '],
    ['spaces and newlines', '  two  spaces\n\nand\ttabs \n'],
    ['unicode', 'Café naïve — “quotes” 日本語 🦙 emoji, Ω ≈ 3.14'],
    ['first story', samples.slice(0, 1500)],
    ['a story from the middle', samples.slice(samples.length >> 1, (samples.length >> 1) + 1500)],
    ['wikitext paragraph', wikitextPrefix.slice(0, 1200)],
    ['wikitext headings and numbers', wikitext.slice(20_000, 21_500)],
  ];
  const raw = new Tokenizer(tokenizerJson, tokenizerConfig);

  for (const [label, text] of texts) {
    it(`${label}: same ids, and decodes back`, async () => {
      const expected = llama2cEncode(tok512, text);
      const tokenizer = await demoTokenizer();
      expect(tokenizer.encode(text)).toEqual(expected);
      if (text !== '') expect(raw.encode(text).ids).toEqual(expected);
      expect(tokenizer.decode(expected)).toBe(text);
    });
  }
});

describe('a llama2.c tokenizer file in the model folder', () => {
  it('loads when there is no tokenizer.json (the shared stories260K folder)', async () => {
    const folder = createModelFolder('stories260K', [
      ['tok512.bin', memoryByteSource(readFileSync(new URL('tok512.bin', model)), 'tok512.bin')],
    ]);
    const tokenizer = await loadTokenizer(folder);
    expect(tokenizer.source).toBe('tok512.bin (llama2.c)');
    expect(tokenizer.encode(golden.story_sentence)).toEqual(golden.story_sentence_ids);
  });

  it('rejects a file that is not one, saying so', async () => {
    const folder = createModelFolder('m', [['tokenizer.bin', memoryByteSource(new Uint8Array(3), 'x')]]);
    await expect(loadTokenizer(folder)).rejects.toMatchObject({
      code: 'bad-tokenizer',
      message: expect.stringMatching(/tokenizer\.bin is not a llama2\.c tokenizer file/),
    });
  });
});

/**
 * Finds and loads a model folder's tokenizer: tokenizer.json (+ tokenizer_config.json), GPT-2/OPT-style
 * vocab.json + merges.txt, or (last) a llama2.c tokenizer file (tokenizer.bin, tok512.bin …) converted in memory.
 * Checks that its ids fit the model's embedding table.
 */
import type { ByteSource } from '../io/bytes';
import { ModelFileError } from '../io/errors';
import { folderFile, type ModelFolder, readJsonFile, readTextFile } from '../io/folder';
import type { ModelConfig } from '../model/types';
import {
  byteLevelBpeTokenizerJson,
  parseMergesText,
  parseVocabJson,
  specialTokensOf,
} from './byte-level-bpe';
import { llama2cTokenizerConfig, llama2cTokenizerJson, parseLlama2cTokenizer } from './llama2c';
import { createTextTokenizer, type TextTokenizer, type TokenizerDefaults } from './text-tokenizer';

async function optionalJson(folder: ModelFolder, path: string): Promise<unknown> {
  const source = folderFile(folder, path);
  return source ? readJsonFile(source) : undefined;
}

export async function loadTokenizer(folder: ModelFolder, config?: ModelConfig): Promise<TextTokenizer> {
  const ownConfig = await optionalJson(folder, 'tokenizer_config.json');
  const specialTokensMap = await optionalJson(folder, 'special_tokens_map.json');
  // Older folders (GPT-2, OPT) name bos/eos only in special_tokens_map.json; tokenizer_config.json wins where both do.
  const tokenizerConfig = {
    ...(isObject(specialTokensMap) ? specialTokensMap : {}),
    ...(isObject(ownConfig) ? ownConfig : {}),
  };
  const defaults: TokenizerDefaults = {
    bosTokenId: config?.bosTokenId,
    eosTokenId: config?.eosTokenId,
    addsBos: config?.family === 'opt',
  };
  let tokenizer: TextTokenizer;
  const tokenizerJson = folderFile(folder, 'tokenizer.json');
  const vocabJson = folderFile(folder, 'vocab.json');
  const mergesText = folderFile(folder, 'merges.txt');
  if (tokenizerJson) {
    tokenizer = createTextTokenizer(
      await readJsonFile(tokenizerJson),
      tokenizerConfig,
      'tokenizer.json',
      defaults,
    );
  } else if (vocabJson && mergesText) {
    const vocab = parseVocabJson(await readJsonFile(vocabJson));
    const merges = parseMergesText(await readTextFile(mergesText));
    const specialTokens = specialTokensOf(
      vocab,
      tokenizerConfig,
      addedTokensAsConfig(await optionalJson(folder, 'added_tokens.json')),
    );
    const addPrefixSpace = tokenizerConfig.add_prefix_space === true;
    const json = byteLevelBpeTokenizerJson(vocab, merges, { addPrefixSpace, specialTokens });
    tokenizer = createTextTokenizer(json, tokenizerConfig, 'vocab.json + merges.txt', defaults);
  } else if (llama2cFile(folder)) {
    const path = llama2cFile(folder) as string;
    const source = folderFile(folder, path) as ByteSource;
    if (source.size > MAX_LLAMA2C_BYTES) {
      throw new ModelFileError('bad-tokenizer', `${path} is too large to be a llama2.c tokenizer file`, {
        file: path,
      });
    }
    const vocab = parseLlama2cTokenizer(await source.read(0, source.size), path);
    tokenizer = createTextTokenizer(
      llama2cTokenizerJson(vocab),
      llama2cTokenizerConfig(config?.maxPositions ?? 2048),
      `${path} (llama2.c)`,
      defaults,
    );
  } else {
    throw missingTokenizer(folder);
  }
  if (config) checkFitsModel(tokenizer, config);
  return tokenizer;
}

/** llama2.c's own tokenizer files are ~430 kB for a 32000-token vocabulary. */
const MAX_LLAMA2C_BYTES = 16 * 1024 * 1024;

/** llama2.c names its tokenizer tokenizer.bin, or tokN.bin for custom vocabularies of N tokens. */
function llama2cFile(folder: ModelFolder): string | undefined {
  return [...folder.files.keys()].find((path) => /^(tokenizer|tok\d+)\.bin$/.test(path));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** added_tokens.json maps token → id; present it the way tokenizer_config.json's added_tokens_decoder does. */
function addedTokensAsConfig(json: unknown): unknown {
  if (!isObject(json)) return undefined;
  return {
    added_tokens_decoder: Object.fromEntries(Object.entries(json).map(([token, id]) => [String(id), token])),
  };
}

function missingTokenizer(folder: ModelFolder): ModelFileError {
  const files = folder.files;
  if (files.has('tokenizer.model')) {
    return new ModelFileError(
      'missing-tokenizer',
      `${folder.name} has only tokenizer.model (sentencepiece), no tokenizer.json. Create tokenizer.json with ` +
        "transformers: AutoTokenizer.from_pretrained('FOLDER').save_pretrained('FOLDER')",
      { file: 'tokenizer.json' },
    );
  }
  const half = files.has('vocab.json') ? 'merges.txt' : files.has('merges.txt') ? 'vocab.json' : undefined;
  return new ModelFileError(
    'missing-tokenizer',
    half
      ? `${folder.name} has ${half === 'merges.txt' ? 'vocab.json' : 'merges.txt'} but no ${half}; a GPT-2 style ` +
          'tokenizer needs both (or a tokenizer.json)'
      : `${folder.name} has no tokenizer: expected tokenizer.json (or vocab.json and merges.txt) beside config.json`,
    { file: 'tokenizer.json' },
  );
}

function checkFitsModel(tokenizer: TextTokenizer, config: ModelConfig): void {
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new ModelFileError(
      'tokenizer-mismatch',
      `the tokenizer (${tokenizer.source}) has ${tokenizer.vocabSize} tokens but the model's vocab_size is ` +
        `${config.vocabSize}: this tokenizer belongs to a different model`,
      { file: tokenizer.source },
    );
  }
  for (const [name, id] of [
    ['BOS', tokenizer.bosId],
    ['EOS', tokenizer.eosId],
  ] as const) {
    if (id !== undefined && id >= config.vocabSize) {
      throw new ModelFileError(
        'tokenizer-mismatch',
        `the tokenizer's ${name} id ${id} is outside the model's vocabulary (vocab_size ${config.vocabSize})`,
        { file: tokenizer.source },
      );
    }
  }
}

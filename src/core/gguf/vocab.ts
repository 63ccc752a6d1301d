/**
 * The model folder's own tokenizer as GGUF vocabulary metadata (tokenizer.ggml.*), in the two forms llama.cpp
 * runs: sentencepiece-style BPE ("llama": pieces with ▁ for spaces, scores that order the merges, token types with
 * <0xNN> byte pieces marked) from a llama2.c tokenizer.bin or a byte-fallback tokenizer.json, and byte-level BPE
 * ("gpt2": tokens, merges, and the pre-tokenizer name whose split regex llama.cpp implements) from tokenizer.json
 * or vocab.json + merges.txt. Special token ids, add-BOS/EOS and the chat template come from the folder too.
 * Anything llama.cpp could not reproduce is refused with a message.
 */
import { ModelFileError } from '../io/errors';
import { folderFile, isPlainObject, type ModelFolder, readJsonFile, readTextFile } from '../io/folder';
import type { ModelConfig } from '../model/types';
import { parseMergesText, parseVocabJson } from '../tokenizer/byte-level-bpe';
import { parseLlama2cTokenizer } from '../tokenizer/llama2c';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import { bool, float32s, type GgufValue, int32s, str, strings, u32 } from './format';
import { classifyPreTokenizer } from './pre-tokenizers';

/** llama.cpp's token types (gguf-py's TokenType). */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;
type Entries = Array<readonly [string, GgufValue]>;
type Json = Record<string, unknown>;

interface Vocabulary {
  model: 'llama' | 'gpt2';
  pre: string;
  tokens: string[];
  types: number[];
  scores?: number[];
  merges?: string[];
  unkId?: number;
  addSpacePrefix?: boolean;
}

function refuse(file: string, why: string): never {
  throw new ModelFileError('bad-tokenizer', `${file} cannot be written as a GGUF vocabulary: ${why}`, {
    file,
  });
}

/** Pieces by id from a tokenizer.json's model.vocab and added_tokens; gaps stay undefined. */
function piecesById(
  json: Json,
  file: string,
): { pieces: (string | undefined)[]; added: Map<number, boolean> } {
  const model = json.model as Json;
  const pieces: (string | undefined)[] = [];
  for (const [piece, id] of Object.entries(parseVocabJson(model.vocab, file))) pieces[id] = piece;
  const added = new Map<number, boolean>();
  for (const token of Array.isArray(json.added_tokens) ? json.added_tokens : []) {
    if (!isPlainObject(token) || typeof token.id !== 'number' || typeof token.content !== 'string') continue;
    pieces[token.id] = token.content;
    added.set(token.id, token.special === true);
  }
  return { pieces, added };
}

function mergeStrings(json: Json, file: string): string[] {
  const merges = (json.model as Json).merges;
  if (!Array.isArray(merges)) return [];
  return merges.map((merge, i) => {
    const [left, right] = typeof merge === 'string' ? merge.split(' ') : (merge as string[]);
    if (typeof left !== 'string' || typeof right !== 'string' || left.includes(' ') || right.includes(' ')) {
      refuse(file, `merge ${i} has a piece with a space, which llama.cpp's "left right" merges cannot hold`);
    }
    return `${left} ${right}`;
  });
}

function hasSpaceMarker(json: Json): boolean {
  const text = JSON.stringify([json.normalizer ?? null, json.pre_tokenizer ?? null]);
  return text.includes('▁');
}

function addsSpacePrefix(json: Json): boolean {
  const text = JSON.stringify([json.normalizer ?? null, json.pre_tokenizer ?? null]);
  return /"Prepend","prepend":"▁"/.test(text) || /"prepend_scheme":"(always|first)"/.test(text);
}

function sentencepieceFromJson(json: Json, file: string): Vocabulary {
  const { pieces, added } = piecesById(json, file);
  const model = json.model as Json;
  const ids = new Map<string, number>();
  pieces.forEach((piece, id) => {
    if (piece !== undefined && !added.has(id)) ids.set(piece, id);
  });
  // llama.cpp merges the adjacent pair whose concatenation scores highest; ranking each piece by the first merge
  // that makes it reproduces the BPE merge order.
  const merges = mergeStrings(json, file);
  const scores = pieces.map(() => -merges.length);
  for (let rank = merges.length - 1; rank >= 0; rank--) {
    const id = ids.get(merges[rank].replace(' ', ''));
    if (id !== undefined) scores[id] = -rank;
  }
  pieces.forEach((piece, id) => {
    if (piece !== undefined && Array.from(piece).length === 1) scores[id] = 0;
  });
  const unk = typeof model.unk_token === 'string' ? ids.get(model.unk_token) : undefined;
  const types = pieces.map((piece, id) => {
    if (id === unk) return TOKEN_TYPE.unknown;
    if (added.has(id)) return added.get(id) ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
    return piece !== undefined && BYTE_PIECE.test(piece) ? TOKEN_TYPE.byte : TOKEN_TYPE.normal;
  });
  return {
    model: 'llama',
    pre: 'default',
    tokens: pieces as string[],
    types,
    scores,
    unkId: unk,
    addSpacePrefix: addsSpacePrefix(json),
  };
}

function byteLevelFromJson(json: Json, file: string): Vocabulary {
  const pre = classifyPreTokenizer(json.pre_tokenizer, json.normalizer, file);
  const { pieces, added } = piecesById(json, file);
  const types = pieces.map((_, id) =>
    added.has(id) ? (added.get(id) ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined) : TOKEN_TYPE.normal,
  );
  return { model: 'gpt2', pre, tokens: pieces as string[], types, merges: mergeStrings(json, file) };
}

async function fromTokenizerJson(folder: ModelFolder): Promise<Vocabulary | undefined> {
  const source = folderFile(folder, 'tokenizer.json');
  if (!source) return undefined;
  const json = (await readJsonFile(source)) as Json;
  const model = isPlainObject(json.model) ? json.model : {};
  if (model.type !== 'BPE') {
    refuse(
      'tokenizer.json',
      `its model is ${String(model.type)}; only BPE tokenizers are written by this tool`,
    );
  }
  if (model.byte_fallback === true || hasSpaceMarker(json))
    return sentencepieceFromJson(json, 'tokenizer.json');
  if (JSON.stringify(json.pre_tokenizer ?? null).includes('"ByteLevel"'))
    return byteLevelFromJson(json, 'tokenizer.json');
  return refuse(
    'tokenizer.json',
    'it is neither byte-level BPE nor sentencepiece-style BPE with byte fallback',
  );
}

async function fromVocabAndMerges(
  folder: ModelFolder,
  added: Map<number, boolean>,
): Promise<Vocabulary | undefined> {
  const vocabJson = folderFile(folder, 'vocab.json');
  const mergesText = folderFile(folder, 'merges.txt');
  if (!vocabJson || !mergesText) return undefined;
  const pieces: string[] = [];
  for (const [piece, id] of Object.entries(parseVocabJson(await readJsonFile(vocabJson)))) pieces[id] = piece;
  const merges = parseMergesText(await readTextFile(mergesText)).map(([a, b]) => `${a} ${b}`);
  const types = pieces.map((_, id) =>
    added.has(id) ? (added.get(id) ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined) : TOKEN_TYPE.normal,
  );
  return { model: 'gpt2', pre: 'gpt-2', tokens: pieces, types, merges };
}

async function fromLlama2c(folder: ModelFolder): Promise<Vocabulary | undefined> {
  const path = [...folder.files.keys()].find((p) => /^(tokenizer|tok\d+)\.bin$/.test(p));
  const source = path ? folderFile(folder, path) : undefined;
  if (!path || !source) return undefined;
  const vocab = parseLlama2cTokenizer(await source.read(0, source.size), path);
  const types = vocab.pieces.map((piece, id) =>
    id === 0
      ? TOKEN_TYPE.unknown
      : id < 3
        ? TOKEN_TYPE.control
        : BYTE_PIECE.test(piece)
          ? TOKEN_TYPE.byte
          : TOKEN_TYPE.normal,
  );
  return {
    model: 'llama',
    pre: 'default',
    tokens: vocab.pieces,
    types,
    scores: vocab.scores,
    unkId: 0,
    addSpacePrefix: true,
  };
}

/** Fills ids the tokenizer does not use up to the model's vocab_size, as llama.cpp's converter does. */
function padded(vocabulary: Vocabulary, size: number): Vocabulary {
  const tokens = [...vocabulary.tokens];
  const types = [...vocabulary.types];
  const scores = vocabulary.scores ? [...vocabulary.scores] : undefined;
  for (let id = 0; id < size; id++) {
    if (tokens[id] !== undefined) continue;
    tokens[id] = `[PAD${id}]`;
    types[id] = TOKEN_TYPE.unused;
    if (scores) scores[id] = -1000;
  }
  const seen = new Set<string>();
  for (const token of tokens) {
    if (seen.has(token)) refuse('the tokenizer', `token ${JSON.stringify(token)} appears twice`);
    seen.add(token);
  }
  return { ...vocabulary, tokens, types, scores };
}

function chatTemplates(config: Json, jinja: string | undefined): Entries {
  if (jinja !== undefined) return [['tokenizer.chat_template', str(jinja)]];
  const template = config.chat_template;
  if (typeof template === 'string') return [['tokenizer.chat_template', str(template)]];
  if (!Array.isArray(template)) return [];
  const entries: Entries = [];
  for (const item of template) {
    if (!isPlainObject(item) || typeof item.name !== 'string' || typeof item.template !== 'string') continue;
    const key = item.name === 'default' ? 'tokenizer.chat_template' : `tokenizer.chat_template.${item.name}`;
    entries.push([key, str(item.template)]);
  }
  return entries;
}

function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return isPlainObject(value) && typeof value.content === 'string' ? value.content : undefined;
}

export async function ggufVocabulary(
  folder: ModelFolder,
  config: ModelConfig,
  tokenizer: TextTokenizer,
): Promise<Entries> {
  const read = async (path: string) => {
    const source = folderFile(folder, path);
    return source ? readJsonFile(source) : undefined;
  };
  const own = await read('tokenizer_config.json');
  const map = await read('special_tokens_map.json');
  const tokenizerConfig: Json = { ...(isPlainObject(map) ? map : {}), ...(isPlainObject(own) ? own : {}) };
  const added = new Map<number, boolean>();
  const decoder = tokenizerConfig.added_tokens_decoder;
  if (isPlainObject(decoder)) {
    for (const [id, token] of Object.entries(decoder))
      added.set(Number(id), isPlainObject(token) && token.special === true);
  }
  const found =
    (await fromTokenizerJson(folder)) ??
    (await fromVocabAndMerges(folder, added)) ??
    (await fromLlama2c(folder));
  if (!found)
    refuse(folder.name, 'no tokenizer.json, vocab.json + merges.txt or llama2.c tokenizer was found');
  if (found.tokens.length > config.vocabSize) {
    refuse(
      tokenizer.source,
      `it has ${found.tokens.length} tokens but the model's vocab_size is ${config.vocabSize}`,
    );
  }
  const vocabulary = padded(found, config.vocabSize);
  const idOf = (value: unknown) => {
    const content = tokenContent(value);
    const id = content === undefined ? -1 : vocabulary.tokens.indexOf(content);
    return id >= 0 ? id : undefined;
  };
  const entries: Entries = [
    ['tokenizer.ggml.model', str(vocabulary.model)],
    ['tokenizer.ggml.pre', str(vocabulary.pre)],
    ['tokenizer.ggml.tokens', strings(vocabulary.tokens)],
  ];
  if (vocabulary.scores) entries.push(['tokenizer.ggml.scores', float32s(vocabulary.scores)]);
  entries.push(['tokenizer.ggml.token_type', int32s(vocabulary.types)]);
  if (vocabulary.merges) entries.push(['tokenizer.ggml.merges', strings(vocabulary.merges)]);
  const ids: Array<[string, number | undefined]> = [
    ['bos_token_id', tokenizer.bosId],
    ['eos_token_id', tokenizer.eosId],
    ['unknown_token_id', vocabulary.unkId ?? idOf(tokenizerConfig.unk_token)],
    ['padding_token_id', idOf(tokenizerConfig.pad_token)],
  ];
  for (const [key, id] of ids) if (id !== undefined) entries.push([`tokenizer.ggml.${key}`, u32(id)]);
  entries.push(['tokenizer.ggml.add_bos_token', bool(tokenizer.addsBos)]);
  entries.push(['tokenizer.ggml.add_eos_token', bool(tokenizerConfig.add_eos_token === true)]);
  if (vocabulary.addSpacePrefix !== undefined) {
    entries.push(['tokenizer.ggml.add_space_prefix', bool(vocabulary.addSpacePrefix)]);
  }
  const jinja = folderFile(folder, 'chat_template.jinja');
  entries.push(...chatTemplates(tokenizerConfig, jinja ? await readTextFile(jinja) : undefined));
  return entries;
}

/**
 * GPT-2/OPT tokenizer folders (vocab.json + merges.txt, no tokenizer.json) → the tokenizer.json that transformers'
 * GPT2 converter builds from them: byte-level BPE with the GPT-2 split pattern, special tokens split out first.
 */
import { ModelFileError } from '../io/errors';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseVocabJson(json: unknown, file = 'vocab.json'): Record<string, number> {
  if (!isObject(json))
    throw new ModelFileError('bad-tokenizer', `${file} is not a JSON object of token ids`, { file });
  for (const [token, id] of Object.entries(json)) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
      throw new ModelFileError('bad-tokenizer', `${file}: token ${JSON.stringify(token)} has id ${id}`, {
        file,
      });
    }
  }
  return json as Record<string, number>;
}

/** merges.txt: an optional "#version" line, then one "left right" pair per line, best first. */
export function parseMergesText(text: string, file = 'merges.txt'): [string, string][] {
  const merges: [string, string][] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const clean = line.replace(/\r$/, '');
    if (clean === '' || (i === 0 && clean.startsWith('#version'))) return;
    const parts = clean.split(' ');
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new ModelFileError(
        'bad-tokenizer',
        `${file} line ${i + 1} is not a pair "left right": ${clean.slice(0, 60)}`,
        {
          file,
        },
      );
    }
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}

/** Special tokens named by tokenizer_config.json / special_tokens_map.json / added_tokens.json, with their ids. */
export function specialTokensOf(
  vocab: Record<string, number>,
  ...configs: unknown[]
): { id: number; content: string }[] {
  const found = new Map<string, number>();
  const add = (value: unknown, id?: unknown) => {
    const content = typeof value === 'string' ? value : isObject(value) ? value.content : undefined;
    if (typeof content !== 'string') return;
    const tokenId = typeof id === 'number' ? id : vocab[content];
    if (typeof tokenId === 'number') found.set(content, tokenId);
  };
  for (const config of configs) {
    if (!isObject(config)) continue;
    for (const key of [
      'bos_token',
      'eos_token',
      'unk_token',
      'pad_token',
      'sep_token',
      'cls_token',
      'mask_token',
    ]) {
      add(config[key]);
    }
    if (Array.isArray(config.additional_special_tokens))
      for (const token of config.additional_special_tokens) add(token);
    if (isObject(config.added_tokens_decoder)) {
      for (const [id, token] of Object.entries(config.added_tokens_decoder)) add(token, Number(id));
    }
  }
  return [...found].map(([content, id]) => ({ id, content })).sort((a, b) => a.id - b.id);
}

export function byteLevelBpeTokenizerJson(
  vocab: Record<string, number>,
  merges: [string, string][],
  options: { addPrefixSpace?: boolean; specialTokens?: { id: number; content: string }[] } = {},
): Record<string, unknown> {
  const byteLevel = {
    type: 'ByteLevel',
    add_prefix_space: options.addPrefixSpace ?? false,
    trim_offsets: true,
    use_regex: true,
  };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: (options.specialTokens ?? []).map(({ id, content }) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

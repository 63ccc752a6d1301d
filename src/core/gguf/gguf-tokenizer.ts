/**
 * A TextTokenizer from a GGUF's own vocabulary (tokenizer.ggml.*), so that a GGUF is scored with the tokenizer
 * llama.cpp reads from it: "llama" vocabularies become sentencepiece-style BPE (every split of a piece into two
 * pieces is a merge, ranked by the piece's score, byte fallback to <0xNN>), "gpt2" vocabularies byte-level BPE with
 * the pre-tokenizer the tokenizer.ggml.pre name stands for.
 */
import { ModelFileError } from '../io/errors';
import { mergesFromScores } from '../tokenizer/sentencepiece-merges';
import { createTextTokenizer, type TextTokenizer } from '../tokenizer/text-tokenizer';
import { PRE_TOKENIZER_PATTERNS } from './pre-tokenizers';
import type { GgufFile } from './reader';
import { metadataValue } from './reader';
import { TOKEN_TYPE } from './vocab';

type Json = Record<string, unknown>;

function added(tokens: string[], types: ArrayLike<number>): Json[] {
  const out: Json[] = [];
  tokens.forEach((content, id) => {
    const type = types[id];
    if (type !== TOKEN_TYPE.control && type !== TOKEN_TYPE.unknown && type !== TOKEN_TYPE.userDefined) return;
    const special = type !== TOKEN_TYPE.userDefined;
    out.push({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: !special,
      special,
    });
  });
  return out;
}

function sentencepieceJson(file: GgufFile, tokens: string[], types: ArrayLike<number>): Json {
  const scores = metadataValue(file, 'tokenizer.ggml.scores', 'array')?.values as
    | ArrayLike<number>
    | undefined;
  if (!scores) throw new ModelFileError('bad-tokenizer', `${file.source.name} has no tokenizer.ggml.scores`);
  const merges = mergesFromScores(tokens, scores, (id) => types[id] === TOKEN_TYPE.normal);
  const unkId = metadataValue(file, 'tokenizer.ggml.unknown_token_id', 'uint32')?.value;
  const prefix = metadataValue(file, 'tokenizer.ggml.add_space_prefix', 'bool')?.value ?? true;
  return {
    version: '1.0',
    added_tokens: added(tokens, types),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        ...(prefix ? [{ type: 'Prepend', prepend: '▁' }] : []),
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(prefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE',
      unk_token: unkId === undefined ? null : tokens[unkId],
      fuse_unk: true,
      byte_fallback: true,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges: merges.map(([left, right]) => `${left} ${right}`),
    },
  };
}

function preTokenizer(pre: string, source: string): Json {
  const byteLevel = (useRegex: boolean) => ({
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: useRegex,
  });
  if (pre === 'gpt-2') return byteLevel(true);
  if (pre === 'smollm') {
    return {
      type: 'Sequence',
      pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true)],
    };
  }
  const pattern = PRE_TOKENIZER_PATTERNS[pre];
  if (!pattern) throw new ModelFileError('bad-tokenizer', `${source}: unknown tokenizer.ggml.pre "${pre}"`);
  return {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false },
      byteLevel(false),
    ],
  };
}

function byteLevelJson(file: GgufFile, tokens: string[], types: ArrayLike<number>): Json {
  const merges = metadataValue(file, 'tokenizer.ggml.merges', 'array')?.values as string[] | undefined;
  const pre = metadataValue(file, 'tokenizer.ggml.pre', 'string')?.value ?? 'gpt-2';
  return {
    version: '1.0',
    added_tokens: added(tokens, types),
    normalizer: pre === 'qwen2' ? { type: 'NFC' } : null,
    pre_tokenizer: preTokenizer(pre, file.source.name),
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges: merges ?? [],
    },
  };
}

export function tokenizerFromGguf(file: GgufFile): TextTokenizer {
  const model = metadataValue(file, 'tokenizer.ggml.model', 'string')?.value;
  const tokens = metadataValue(file, 'tokenizer.ggml.tokens', 'array')?.values as string[] | undefined;
  const types = metadataValue(file, 'tokenizer.ggml.token_type', 'array')?.values as
    | ArrayLike<number>
    | undefined;
  if (!tokens || !types || (model !== 'llama' && model !== 'gpt2')) {
    throw new ModelFileError(
      'bad-tokenizer',
      `${file.source.name} has no vocabulary this tool reads (tokenizer.ggml.model "${model ?? 'missing'}")`,
      { file: file.source.name },
    );
  }
  const json =
    model === 'llama' ? sentencepieceJson(file, tokens, types) : byteLevelJson(file, tokens, types);
  const id = (key: string) => metadataValue(file, `tokenizer.ggml.${key}`, 'uint32')?.value;
  const bos = id('bos_token_id');
  const eos = id('eos_token_id');
  const config = {
    add_bos_token: metadataValue(file, 'tokenizer.ggml.add_bos_token', 'bool')?.value ?? false,
    ...(bos !== undefined ? { bos_token: tokens[bos] } : {}),
    ...(eos !== undefined ? { eos_token: tokens[eos] } : {}),
  };
  return createTextTokenizer(json, config, `${file.source.name} (GGUF vocabulary)`, {
    bosTokenId: bos,
    eosTokenId: eos,
  });
}

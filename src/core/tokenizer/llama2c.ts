/**
 * llama2.c tokenizer files (tokenizer.bin / tok512.bin from its tokenizer.py export) → a standard Hugging Face
 * tokenizer.json in the form transformers writes for Llama 2's sentencepiece BPE: "▁" for spaces with a dummy
 * prefix, byte fallback pieces <0xNN>, merges ordered by the merged piece's score, <unk>=0 <s>=1 </s>=2.
 *
 * File layout (little-endian): int32 max_token_length, then per token: float32 score, int32 byte length, UTF-8
 * bytes. tokenizer.py wrote sentencepiece's "▁" as " " and BOS/EOS as "\n<s>\n" / "\n</s>\n".
 */

import { ModelFileError } from '../io/errors';
import { mergesFromScores } from './sentencepiece-merges';

export interface Llama2cVocab {
  maxTokenLength: number;
  /** Pieces as sentencepiece names them: "▁the", "<0x0A>", "<s>". */
  pieces: string[];
  scores: number[];
}

const SPECIALS = ['<unk>', '<s>', '</s>'];
const BYTE_PIECE = /^<0x[0-9A-F]{2}>$/;

export function parseLlama2cTokenizer(bytes: Uint8Array, file = 'tokenizer.bin'): Llama2cVocab {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const fail = (why: string): never => {
    throw new ModelFileError('bad-tokenizer', `${file} is not a llama2.c tokenizer file: ${why}`, { file });
  };
  if (bytes.byteLength < 4) fail('it is shorter than its 4-byte header');
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength < 1 || maxTokenLength > 1024) fail(`max_token_length ${maxTokenLength} is implausible`);
  const pieces: string[] = [];
  const scores: number[] = [];
  let offset = 4;
  while (offset < bytes.byteLength) {
    if (offset + 8 > bytes.byteLength) fail(`token ${pieces.length} is cut off`);
    const score = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    offset += 8;
    if (length < 0 || length > 4 * maxTokenLength + 8 || offset + length > bytes.byteLength) {
      fail(`token ${pieces.length} claims ${length} bytes`);
    }
    let text = '';
    try {
      text = utf8.decode(bytes.subarray(offset, offset + length));
    } catch {
      fail(`token ${pieces.length} is not UTF-8`);
    }
    offset += length;
    pieces.push(text);
    scores.push(score);
  }
  if (pieces.length < 3 + 256)
    fail(`it has ${pieces.length} tokens, fewer than the 3 specials and 256 byte pieces`);
  return { maxTokenLength, pieces: pieces.map(toSentencepiece), scores };
}

function toSentencepiece(piece: string, id: number): string {
  if (id < 3) return SPECIALS[id];
  return BYTE_PIECE.test(piece) ? piece : piece.replaceAll(' ', '▁');
}

/** The merges of a llama2.c vocabulary (its first three pieces are the special tokens). */
export function sentencepieceMerges(vocab: Llama2cVocab): [string, string][] {
  return mergesFromScores(vocab.pieces, vocab.scores, (id) => id >= 3);
}

const SPECIAL_TOKEN = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };

export function llama2cTokenizerJson(vocab: Llama2cVocab): Record<string, unknown> {
  const pieceIds: Record<string, number> = {};
  vocab.pieces.forEach((piece, id) => {
    if (piece.includes(' ')) throw new ModelFileError('bad-tokenizer', `piece ${id} contains a space`);
    if (Object.hasOwn(pieceIds, piece))
      throw new ModelFileError('bad-tokenizer', `piece "${piece}" appears twice`);
    pieceIds[piece] = id;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({ id, content, ...SPECIAL_TOKEN })),
    // Llama 2's "legacy" normalizer: a dummy-prefix "▁" before every non-empty text, spaces become "▁".
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: pieceIds,
      // "left right" strings: readable by every tokenizers version (pieces never contain a space).
      merges: sentencepieceMerges(vocab).map(([left, right]) => `${left} ${right}`),
    },
  };
}

export function llama2cTokenizerConfig(modelMaxLength: number): Record<string, unknown> {
  return {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(
      SPECIALS.map((content, id) => [String(id), { content, ...SPECIAL_TOKEN }]),
    ),
    bos_token: '<s>',
    clean_up_tokenization_spaces: false,
    eos_token: '</s>',
    legacy: true,
    model_max_length: modelMaxLength,
    pad_token: null,
    sp_model_kwargs: {},
    spaces_between_special_tokens: false,
    tokenizer_class: 'LlamaTokenizer',
    unk_token: '<unk>',
    use_default_system_prompt: false,
  };
}

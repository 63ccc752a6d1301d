/**
 * A tiny byte-level BPE tokenizer.json (the 256 GPT-2 byte symbols, merges that build a few common words, one
 * special token) with a GPT-2 or Qwen2 pre-tokenizer, for synthetic checkpoints that llama.cpp must tokenize.
 */
import { PRE_TOKENIZER_PATTERNS } from '../src/core/gguf/pre-tokenizers';

/** GPT-2's byte → printable character table. */
function byteSymbols(): string[] {
  const symbols: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    symbols.push(String.fromCodePoint(printable ? b : 256 + extra++));
  }
  return symbols;
}

const WORDS = ['the', 'and', 'was', 'she', 'he', 'to', 'a', 'in', 'it', 'day', 'time', 'play', 'little'];

export function byteLevelTokenizerJson(style: 'gpt2' | 'qwen2'): Record<string, unknown> {
  const symbols = byteSymbols();
  const vocab: Record<string, number> = {};
  symbols.forEach((symbol, id) => {
    vocab[symbol] = id;
  });
  const merges: string[] = [];
  const space = symbols[32];
  for (const word of WORDS.flatMap((w) => [w, `${space}${w}`])) {
    const pieces = Array.from(word);
    let left = pieces[0];
    for (const piece of pieces.slice(1)) {
      const merged = left + piece;
      if (!(merged in vocab)) {
        merges.push(`${left} ${piece}`);
        vocab[merged] = Object.keys(vocab).length;
      }
      left = merged;
    }
  }
  const eos = Object.keys(vocab).length;
  const byteLevel = (useRegex: boolean) => ({
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: useRegex,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: eos,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: style === 'qwen2' ? { type: 'NFC' } : null,
    pre_tokenizer:
      style === 'gpt2'
        ? byteLevel(true)
        : {
            type: 'Sequence',
            pretokenizers: [
              {
                type: 'Split',
                pattern: { Regex: PRE_TOKENIZER_PATTERNS.qwen2 },
                behavior: 'Isolated',
                invert: false,
              },
              byteLevel(false),
            ],
          },
    post_processor: null,
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
      vocab: { ...vocab, '<|endoftext|>': eos },
      merges,
    },
  };
}

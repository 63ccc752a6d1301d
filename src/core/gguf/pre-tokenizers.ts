/**
 * Byte-level BPE pre-tokenizers by the name llama.cpp gives them (tokenizer.ggml.pre), recognized from the
 * tokenizer.json's own pre-tokenizer: llama.cpp implements each name's split regex itself (src/llama-vocab.cpp), so
 * a name is only written when the tokenizer splits text exactly that way. The regexes are the ones those models'
 * tokenizer.json files carry.
 */
import { ModelFileError } from '../io/errors';

export const PRE_TOKENIZER_PATTERNS: Record<string, string> = {
  'llama-bpe':
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  qwen2:
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function steps(preTokenizer: unknown): Json[] {
  if (!isObject(preTokenizer)) return [];
  if (preTokenizer.type === 'Sequence' && Array.isArray(preTokenizer.pretokenizers)) {
    return preTokenizer.pretokenizers.filter(isObject);
  }
  return [preTokenizer];
}

function splitPattern(step: Json): string | undefined {
  const pattern = step.pattern;
  return isObject(pattern) && typeof pattern.Regex === 'string' ? pattern.Regex : undefined;
}

/** llama.cpp's pre-tokenizer name for a byte-level tokenizer.json, or a message saying none fits. */
export function classifyPreTokenizer(preTokenizer: unknown, normalizer: unknown, file: string): string {
  const list = steps(preTokenizer);
  const kinds = list.map((step) => step.type).join(',');
  const normalized =
    normalizer === null || normalizer === undefined || (isObject(normalizer) && normalizer.type === 'NFC');
  if (normalized) {
    if (kinds === 'ByteLevel' && list[0].use_regex !== false) return 'gpt-2';
    if (kinds === 'Digits,ByteLevel' && list[0].individual_digits === true && list[1].use_regex !== false) {
      return 'smollm';
    }
    if (kinds === 'Split,ByteLevel' && list[1].use_regex === false) {
      const pattern = splitPattern(list[0]);
      for (const [name, known] of Object.entries(PRE_TOKENIZER_PATTERNS)) if (pattern === known) return name;
    }
  }
  throw new ModelFileError(
    'bad-tokenizer',
    `${file}: its pre-tokenizer (${kinds || 'none'}) splits text in a way this tool cannot name for llama.cpp ` +
      '(known: GPT-2, Llama 3, Qwen2, SmolLM), so a GGUF of it would tokenize differently',
    { file },
  );
}

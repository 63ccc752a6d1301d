/**
 * The one tokenizer interface the rest of the app uses, over Hugging Face's tokenizers.js. BOS is added here, not
 * by the tokenizer's post-processor, so every family behaves the same way: `encode(text)` gives what the model's
 * own tokenizer gives for a text (with BOS where that tokenizer adds one).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFileError } from '../io/errors';

export interface TextTokenizer {
  /** What it was built from, for summaries: "tokenizer.json", "vocab.json + merges.txt". */
  readonly source: string;
  /** One more than the largest token id (added tokens included). */
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  /** Whether the model's own tokenizer starts every text with BOS (Llama, Mistral, OPT: yes; GPT-2, Qwen2: no). */
  readonly addsBos: boolean;
  /** `addBos` defaults to `addsBos`. */
  encode(text: string, options?: { addBos?: boolean }): number[];
  /** Special tokens (BOS, EOS, padding) are left out. */
  decode(ids: ArrayLike<number>): string;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A special token in tokenizer_config.json is a string or an AddedToken object {content, …}. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

/** The id a TemplateProcessing post-processor puts first (Llama 3's <|begin_of_text|>), if any. */
function templateBosId(postProcessor: unknown): number | undefined {
  if (!isObject(postProcessor)) return undefined;
  if (postProcessor.type === 'Sequence' && Array.isArray(postProcessor.processors)) {
    for (const inner of postProcessor.processors) {
      const id = templateBosId(inner);
      if (id !== undefined) return id;
    }
    return undefined;
  }
  if (postProcessor.type !== 'TemplateProcessing' || !Array.isArray(postProcessor.single)) return undefined;
  const first = postProcessor.single[0];
  if (!isObject(first) || !isObject(first.SpecialToken)) return undefined;
  const name = first.SpecialToken.id;
  const special = isObject(postProcessor.special_tokens)
    ? postProcessor.special_tokens[String(name)]
    : undefined;
  const ids = isObject(special) && Array.isArray(special.ids) ? special.ids : [];
  return typeof ids[0] === 'number' ? ids[0] : undefined;
}

export interface TokenizerDefaults {
  /** From config.json, used when the tokenizer files do not name BOS/EOS. */
  bosTokenId?: number;
  eosTokenId?: number;
  /** Whether to add BOS when tokenizer_config.json does not say (OPT always starts with </s>). */
  addsBos?: boolean;
}

/** Wraps a parsed tokenizer.json (+ tokenizer_config.json) in a TextTokenizer. */
export function createTextTokenizer(
  tokenizerJson: unknown,
  tokenizerConfig: unknown,
  source: string,
  defaults: TokenizerDefaults = {},
): TextTokenizer {
  if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) {
    throw new ModelFileError(
      'bad-tokenizer',
      `${source} is not a Hugging Face tokenizer (it has no "model")`,
      {
        file: source,
      },
    );
  }
  const config: Json = isObject(tokenizerConfig) ? tokenizerConfig : {};
  const json: Json = {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    added_tokens: [],
    ...tokenizerJson,
  };
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json, config);
  } catch (cause) {
    throw new ModelFileError(
      'bad-tokenizer',
      `${source} could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`,
      { file: source, cause },
    );
  }
  const idOf = (value: unknown) => {
    const content = tokenContent(value);
    return content === undefined ? undefined : tokenizer.token_to_id(content);
  };
  const templateBos = templateBosId(json.post_processor);
  const bosId = idOf(config.bos_token) ?? templateBos ?? defaults.bosTokenId;
  const eosId = idOf(config.eos_token) ?? defaults.eosTokenId;
  const addsBos =
    typeof config.add_bos_token === 'boolean'
      ? config.add_bos_token
      : templateBos !== undefined || !!defaults.addsBos;
  if (addsBos && bosId === undefined) {
    throw new ModelFileError(
      'bad-tokenizer',
      `${source} should start texts with a BOS token but names none`,
      {
        file: source,
      },
    );
  }
  let maxId = -1;
  for (const id of tokenizer.get_vocab(true).values()) maxId = Math.max(maxId, id);
  return {
    source,
    vocabSize: maxId + 1,
    bosId,
    eosId,
    addsBos,
    encode(text, options = {}) {
      const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
      return (options.addBos ?? addsBos) && bosId !== undefined ? [bosId, ...ids] : ids;
    },
    decode(ids) {
      return tokenizer.decode(Array.from(ids), { skip_special_tokens: true });
    },
  };
}

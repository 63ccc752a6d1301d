/**
 * Which files of a model folder matter besides the weights: the ones that decide what the model computes (its
 * config and tokenizer: part of its fingerprint) and the ones a pruned copy carries along (those plus the
 * generation config, chat template, model card and licence). One list for the writer and the fingerprint.
 */

/** config.json and the tokenizer files transformers reads: they fix the forward pass and the calibration tokens. */
export const MODEL_FORWARD_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'tokenizer.model',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'vocab.txt',
];

/** What transformers' from_pretrained and the Hub read beside the weights, at the top of a model folder. */
const MODEL_SIDE_FILES = new Set([
  ...MODEL_FORWARD_FILES,
  'generation_config.json',
  'chat_template.json',
  'chat_template.jinja',
]);

/** The model card and the terms it is shared under (Llama's USE_POLICY.md included). */
const MODEL_DOCUMENTS = /^(readme|licen[cs]e|notice|use_policy)(\.(md|txt|rst))?$/i;

/**
 * True for a file a pruned copy of the model needs besides its weights. An allowlist: notes, scripts, data sets
 * or a stray link that happen to sit in the folder never end up in a model the user will share.
 */
export function isModelSideFile(path: string): boolean {
  return !path.includes('/') && (MODEL_SIDE_FILES.has(path) || MODEL_DOCUMENTS.test(path));
}

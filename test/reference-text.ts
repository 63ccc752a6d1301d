/** The text a model folder's float64 reference greedy continuation adds to a prompt, for the CLI and e2e tests. */
import { referenceGreedy, referenceOf } from '../src/core/generate/generate.reference';
import { openForwardFolder } from '../src/core/pipeline/forward-model';
import { openFolder } from '../src/node/files';

/** Up to `count` tokens, ending at the end-of-sequence token where the reference writes it (as generation stops). */
export async function referenceContinuation(
  modelDir: string,
  prompt: string,
  count: number,
): Promise<string> {
  const model = await openForwardFolder(await openFolder(modelDir));
  const promptIds = model.tokenizer.encode(prompt);
  let ids = referenceGreedy(await referenceOf(model), promptIds, count);
  const eos = ids.indexOf(model.tokenizer.eosId ?? -1);
  if (eos >= 0) ids = ids.slice(0, eos + 1);
  const decode = (tokens: number[]) => model.tokenizer.decode(tokens);
  return decode([...promptIds, ...ids]).slice(decode(promptIds).length);
}

/**
 * config.json against the tensors: the number of blocks, the hidden size and the vocabulary must be the
 * checkpoint's own. A config from another size of the same family would otherwise run: with fewer layers than the
 * checkpoint, part of the model is pruned and the rest copied dense without a word. Each mismatch names both
 * numbers and where they come from. Kept apart from the config parser, which reads config.json alone.
 */
import type { Architecture } from '../forward/architecture';
import type { Checkpoint } from '../io/checkpoint';
import { ModelFileError } from '../io/errors';

/** config.json's key for each number, as transformers spells it per family. */
function keys(arch: Architecture): { layers: string; hidden: string } {
  return arch.family === 'gpt2'
    ? { layers: 'n_layer', hidden: 'n_embd' }
    : { layers: 'num_hidden_layers', hidden: 'hidden_size' };
}

function mismatch(message: string, tensor?: string): ModelFileError {
  return new ModelFileError(
    'config-mismatch',
    `${message}: config.json and the weights do not belong to the same model.`,
    { file: 'config.json', tensor },
  );
}

/**
 * The blocks the checkpoint has tensors for: block indices after the prefix block 0's tensors share
 * ("model.layers." in "model.layers.0.self_attn.q_proj.weight"). One pass over the names.
 */
export function checkpointBlockCount(arch: Architecture, names: Iterable<string>): number {
  const first = arch.block(0).linears[0].tensor;
  const prefix = first.slice(0, first.indexOf('.0.') + 1);
  let highest = -1;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const end = name.indexOf('.', prefix.length);
    const digits = name.slice(prefix.length, end < 0 ? undefined : end);
    if (/^\d{1,6}$/.test(digits)) highest = Math.max(highest, Number(digits));
  }
  return highest + 1;
}

export function checkConfigMatchesCheckpoint(arch: Architecture, checkpoint: Checkpoint): void {
  const key = keys(arch);
  const blocks = checkpointBlockCount(
    arch,
    checkpoint.tensors.map((t) => t.name),
  );
  if (blocks !== arch.numBlocks) {
    throw mismatch(
      `config.json gives ${key.layers} = ${arch.numBlocks} but the checkpoint has tensors for ${blocks} blocks`,
    );
  }
  const norm = arch.block(0).attentionNorm.weight;
  if (checkpoint.has(norm)) {
    const size = checkpoint.tensor(norm).shape.reduce((a, b) => a * b, 1);
    if (size !== arch.hiddenSize) {
      throw mismatch(
        `config.json gives ${key.hidden} = ${arch.hiddenSize} but ${norm} has ${size} values (the hidden size)`,
        norm,
      );
    }
  }
  const embedding = arch.embedding.tensor;
  if (checkpoint.has(embedding)) {
    const shape = checkpoint.tensor(embedding).shape;
    if (shape.length === 2 && shape[0] !== arch.embedding.rows) {
      throw mismatch(
        `config.json gives vocab_size = ${arch.embedding.rows} but ${embedding} has ${shape[0]} rows (one per token)`,
        embedding,
      );
    }
    if (shape.length === 2 && shape[1] !== arch.embedding.cols) {
      throw mismatch(
        `config.json implies embeddings of width ${arch.embedding.cols} but ${embedding} has ${shape[1]} columns`,
        embedding,
      );
    }
  }
}

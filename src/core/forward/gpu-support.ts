/**
 * What the GPU forward (BlockRunner, model-ends) computes, as the architecture fields it reads. A model whose
 * description holds any other field — a feature the kernels do not have yet — is refused by name before any work,
 * rather than run without that feature (which would report the perplexity, and prune with the Hessians, of a
 * different model). A field the GPU does not know is refused too, so a family added to architecture.ts stays refused
 * until the GPU learns it: where a GPU feature lands, add its field to the sets below.
 */
import type { Architecture } from './architecture';
import { UnsupportedModelError } from './architecture-parts';

/**
 * Architecture fields the GPU forward reads: all of Llama, Mistral, Qwen2/3, Phi-3/4, Gemma 2/3, Mixtral,
 * Qwen3-MoE, OPT and GPT-2.
 */
const MODEL_FIELDS = new Set([
  'config',
  'family',
  'hiddenSize',
  'intermediateSize',
  'heads',
  'kvHeads',
  'headDim',
  'vocabSize',
  'numBlocks',
  'norm',
  'normFirst',
  'mlp',
  'attentionScale',
  'attentionSoftcap',
  'finalLogitSoftcap',
  'embeddingScale',
  'rope',
  'embedding',
  'positions',
  'projectIn',
  'projectOut',
  'finalNorm',
  'lmHead',
  'block',
  'prunableLinears',
]);
const NORM_FIELDS = new Set(['kind', 'eps', 'unitOffset']);
const BLOCK_FIELDS = new Set([
  'index',
  'attentionNorm',
  'mlpNorm',
  'groups',
  'linears',
  'qNorm',
  'kNorm',
  'postAttentionNorm',
  'postMlpNorm',
  'slidingWindow',
  'rope',
  'moe',
]);
const GROUP_FIELDS = new Set(['role', 'features', 'linears', 'rows', 'expert']);

/** The features of `arch` the GPU forward lacks, named by their fields; [] where it computes the model exactly. */
export function gpuForwardGaps(arch: Architecture): string[] {
  const gaps = new Set<string>();
  const lacking = (field: string) => gaps.add(`"${field}"`);
  for (const [field, value] of Object.entries(arch))
    if (value !== undefined && !MODEL_FIELDS.has(field)) lacking(field);
  for (const [field, value] of Object.entries(arch.norm)) {
    if (value !== undefined && !NORM_FIELDS.has(field)) lacking(`norm.${field}`);
  }
  for (let index = 0; index < arch.numBlocks; index++) {
    const block = arch.block(index);
    for (const [field, value] of Object.entries(block)) {
      if (value !== undefined && !BLOCK_FIELDS.has(field)) lacking(`block.${field}`);
    }
    for (const group of block.groups) {
      for (const field of Object.keys(group)) if (!GROUP_FIELDS.has(field)) lacking(`group.${field}`);
    }
  }
  return [...gaps];
}

/** Throws an UnsupportedModelError naming every feature of `arch` the GPU forward lacks. */
export function requireGpuForward(arch: Architecture): void {
  const gaps = gpuForwardGaps(arch);
  if (gaps.length === 0) return;
  throw new UnsupportedModelError(
    `This ${arch.config.modelType} model uses ${gaps.join('; ')}, which the GPU forward does not compute yet: ` +
      'its perplexity and pruning would be those of a different model, so it cannot be evaluated or pruned here ' +
      'yet (opening and inspecting it works).',
  );
}

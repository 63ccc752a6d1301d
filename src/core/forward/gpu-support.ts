/**
 * What the GPU forward (BlockRunner, model-ends) computes, as the architecture fields it reads. A model whose
 * description holds any other field — a feature the kernels do not have yet — is refused by name before any work,
 * rather than run without that feature (which would report the perplexity, and prune with the Hessians, of a
 * different model). A field the GPU does not know is refused too, so a family added to architecture.ts stays refused
 * until the GPU learns it: where a GPU feature lands, add its field to the sets below.
 */
import type { Architecture } from './architecture';
import { UnsupportedModelError } from './architecture-parts';

/** Architecture fields the GPU forward reads (all of Llama, Mistral, Qwen2, Phi-3, OPT and GPT-2). */
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
const NORM_FIELDS = new Set(['kind', 'eps']);
const BLOCK_FIELDS = new Set(['index', 'attentionNorm', 'mlpNorm', 'groups', 'linears']);
const GROUP_FIELDS = new Set(['role', 'features', 'linears', 'rows']);

/** What each field the GPU lacks is, in words a user can match to the model card. */
const FEATURES: Record<string, string> = {
  embeddingScale: 'embeddings scaled by √hidden (Gemma)',
  attentionSoftcap: 'attention logit soft-capping (Gemma 2)',
  finalLogitSoftcap: 'final logit soft-capping (Gemma 2)',
  'norm.unitOffset': 'RMSNorm by (1 + weight) (Gemma)',
  qNorm: 'per-head q/k RMSNorm before RoPE (Qwen3, Gemma 3)',
  kNorm: 'per-head q/k RMSNorm before RoPE (Qwen3, Gemma 3)',
  postAttentionNorm: 'RMSNorms after attention and after the MLP (Gemma)',
  postMlpNorm: 'RMSNorms after attention and after the MLP (Gemma)',
  rope: 'a RoPE of their own for sliding-window layers (Gemma 3)',
  moe: 'mixture-of-experts MLPs (router and top-k experts)',
  'group.expert': 'mixture-of-experts MLPs (router and top-k experts)',
};

/**
 * The features of `arch` the GPU forward lacks for sequences of `seqLen` tokens, described; [] where it computes
 * the model exactly. A sliding window at least seqLen tokens wide covers every key, so attention is then exact.
 */
export function gpuForwardGaps(arch: Architecture, seqLen: number): string[] {
  const gaps = new Set<string>();
  const lacking = (field: string) => gaps.add(FEATURES[field] ?? `"${field}"`);
  for (const [field, value] of Object.entries(arch))
    if (value !== undefined && !MODEL_FIELDS.has(field)) lacking(field);
  for (const [field, value] of Object.entries(arch.norm)) {
    if (value !== undefined && !NORM_FIELDS.has(field)) lacking(`norm.${field}`);
  }
  let narrowest: number | undefined;
  for (let index = 0; index < arch.numBlocks; index++) {
    const block = arch.block(index);
    for (const [field, value] of Object.entries(block)) {
      if (value === undefined || BLOCK_FIELDS.has(field)) continue;
      if (field === 'slidingWindow') narrowest = Math.min(narrowest ?? value, value);
      else lacking(field);
    }
    for (const group of block.groups) {
      for (const field of Object.keys(group)) if (!GROUP_FIELDS.has(field)) lacking(`group.${field}`);
    }
  }
  if (narrowest !== undefined && narrowest < seqLen) {
    gaps.add(
      `sliding-window attention narrower than the sequence (a ${narrowest}-token window, ${seqLen}-token ` +
        `sequences; a sequence length of ${narrowest} or less is exact)`,
    );
  }
  return [...gaps];
}

/** Throws an UnsupportedModelError naming every feature of `arch` the GPU forward lacks at this sequence length. */
export function requireGpuForward(arch: Architecture, seqLen: number): void {
  const gaps = gpuForwardGaps(arch, seqLen);
  if (gaps.length === 0) return;
  throw new UnsupportedModelError(
    `This ${arch.config.modelType} model uses ${gaps.join('; ')}, which the GPU forward does not compute yet: ` +
      'its perplexity and pruning would be those of a different model, so it cannot be evaluated or pruned here ' +
      'yet (opening and inspecting it works).',
  );
}

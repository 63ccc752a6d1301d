/**
 * Which linears a run prunes and which it leaves dense (skip list, N:M that does not divide the columns), and why,
 * and the sparsity each pruned linear is asked for (the run's, a block's OWL allocation, or a per-layer target).
 * Pure: the pipeline plans from the architecture, the page from the model summary before a run starts, so both
 * say the same thing, once.
 */
import type { Architecture, InputGroupRole } from '../forward/architecture';
import { planTensorTypes } from '../gguf/export';
import { GgufExportError, ggufArchitecture, sourceTensors } from '../gguf/model-map';
import { chooseTensorTypes, type GgufFileType } from '../gguf/recipe';
import type { GgmlType } from '../quant/ggml-types';
import type { Quantization } from '../settings/prune-settings';
import { OWL_DEFAULTS } from '../settings/prune-settings';
import { skipMatches } from './settings-check';
import type { BlockAllocation, PruneSettings } from './types';

export interface LinearPlan {
  tensor: string;
  prune: boolean;
  /** Why the linear stays dense. */
  reason?: string;
  /** Set when the N:M pattern cannot divide the linear's input columns. */
  patternMismatch?: boolean;
  /** The fraction of zeros asked of a pruned linear (N/M under N:M). */
  target?: number;
  /** Where the target comes from: the run's sparsity, the allocation over blocks, or a per-layer target. */
  targetFrom?: TargetSource;
}

export type TargetSource = 'run' | 'allocation' | 'layer';

/** What a linear is asked for: the last per-layer target that matches it, else its block's allocation, else the run's. */
export function layerTarget(
  linear: PlannedLinear,
  settings: PruneSettings,
  blockSparsity?: readonly number[],
): { target: number; targetFrom: TargetSource } {
  if (settings.pattern !== 'unstructured') {
    return { target: settings.pattern.n / settings.pattern.m, targetFrom: 'run' };
  }
  const entry = (settings.layerTargets ?? []).findLast((t) =>
    skipMatches(t.layers, linear.tensor, linear.block, linear.name),
  );
  if (entry) return { target: entry.sparsity, targetFrom: 'layer' };
  const allocated = blockSparsity?.[linear.block];
  if (allocated !== undefined) return { target: allocated, targetFrom: 'allocation' };
  return { target: settings.sparsity, targetFrom: 'run' };
}

/** What planning needs of a linear (the architecture's specs and the page's summary both have it). */
export interface PlannedLinear {
  tensor: string;
  block: number;
  /** Short name within the block, e.g. "mlp.down_proj". */
  name: string;
  /** Input columns: N:M groups run along them. */
  cols: number;
}

/** `blockSparsity`: each block's sparsity from the allocation (OWL), where there is one. */
export function planLinears(
  linears: Iterable<PlannedLinear>,
  settings: PruneSettings,
  blockSparsity?: readonly number[],
): Map<string, LinearPlan> {
  const plans = new Map<string, LinearPlan>();
  const { pattern } = settings;
  for (const linear of linears) {
    const { tensor } = linear;
    const skippedBy = settings.skipLayers.find((entry) =>
      skipMatches(entry, tensor, linear.block, linear.name),
    );
    if (skippedBy !== undefined) {
      plans.set(tensor, {
        tensor,
        prune: false,
        reason: `skipped ("${skippedBy.trim()}" in the layers to skip)`,
      });
    } else if (pattern !== 'unstructured' && linear.cols % pattern.m !== 0) {
      const reason = `left dense: its ${linear.cols} input columns are not a multiple of ${pattern.m} for ${pattern.n}:${pattern.m}`;
      plans.set(tensor, { tensor, prune: false, reason, patternMismatch: true });
    } else {
      plans.set(tensor, { tensor, prune: true, ...layerTarget(linear, settings, blockSparsity) });
    }
  }
  return plans;
}

/**
 * The ggml type each linear is quantized to (by tensor name), by llama.cpp's recipe for `quantization` (the same
 * types the GGUF file stores, fallbacks included); empty for 'none'. Embeddings and the LM head are not linears the
 * walk solves: the writer rounds them.
 */
export function linearQuantTypes(arch: Architecture, quantization: Quantization): Map<string, GgmlType> {
  const types = new Map<string, GgmlType>();
  if (quantization === 'none') return types;
  if (!hasGgufArchitecture(arch.config)) return linearTypesByRole(arch, quantization);
  const linears = new Set(arch.prunableLinears().map((l) => l.tensor));
  for (const tensor of planTensorTypes(arch.config, arch, quantization).tensors) {
    for (const hf of tensor.mapping ? sourceTensors(tensor.mapping) : []) {
      if (linears.has(hf) && tensor.type !== 'F32') types.set(hf, tensor.type);
    }
  }
  return types;
}

function hasGgufArchitecture(config: Architecture['config']): boolean {
  try {
    ggufArchitecture(config);
    return true;
  } catch (error) {
    if (error instanceof GgufExportError) return false;
    throw error;
  }
}

/**
 * A family llama.cpp has no architecture for (OPT) still quantizes for the safetensors output: the same recipe over
 * the linears alone, each named by its role as llama.cpp would name it (so that Q4_K_M's extra bits for attn_v and
 * ffn_down, and the fallbacks for rows that do not fill a block, are the same as for the families it has).
 */
function linearTypesByRole(
  arch: Architecture,
  quantization: Quantization & GgufFileType,
): Map<string, GgmlType> {
  const named = arch.prunableLinears().map((linear) => {
    const group = arch
      .block(linear.block)
      .groups.find((g) => g.linears.some((l) => l.tensor === linear.tensor));
    const siblings = group?.linears ?? [linear];
    const index = siblings.findIndex((l) => l.tensor === linear.tensor);
    const roles: Record<InputGroupRole, string[]> = {
      attention: siblings.length === 3 ? ['attn_q', 'attn_k', 'attn_v'] : ['attn_qkv'],
      attention_output: ['attn_output'],
      mlp: siblings.length === 2 ? ['ffn_gate', 'ffn_up'] : ['ffn_up'],
      mlp_output: ['ffn_down'],
    };
    const role = roles[linear.group][index] ?? roles[linear.group][0];
    const expert = linear.expert === undefined ? '' : `.${linear.expert}`;
    return {
      tensor: linear.tensor,
      name: `blk.${linear.block}.${role}${expert}.weight`,
      dims: [linear.cols, linear.rows],
    };
  });
  const recipe = chooseTensorTypes(quantization, named, {
    layers: arch.numBlocks,
    tiedEmbeddings: arch.lmHead.tied,
    is70B: false,
  });
  return new Map(named.map((linear, i) => [linear.tensor, recipe.types[i]]));
}

/** "block 3", "blocks 0–4", "blocks 0, 2, 5". */
function blocksText(blocks: number[]): string {
  if (blocks.length === 1) return `block ${blocks[0]}`;
  const contiguous = blocks.every((b, i) => i === 0 || b === blocks[i - 1] + 1);
  return contiguous ? `blocks ${blocks[0]}–${blocks.at(-1)}` : `blocks ${blocks.join(', ')}`;
}

/**
 * The linears an N:M pattern leaves dense, said once for the whole model and grouped by kind, e.g. "4:8 needs
 * input columns that are a multiple of 8: 5 linears stay dense, mlp.down_proj (172 input columns) in blocks 0–4."
 * Undefined when the pattern fits every linear it would prune.
 */
export function patternMismatchWarning(
  linears: readonly PlannedLinear[],
  settings: PruneSettings,
): string | undefined {
  const { pattern } = settings;
  if (pattern === 'unstructured') return undefined;
  const plans = planLinears(linears, settings);
  const kinds = new Map<string, { name: string; cols: number; blocks: number[] }>();
  let count = 0;
  for (const linear of linears) {
    if (!plans.get(linear.tensor)?.patternMismatch) continue;
    count++;
    const key = `${linear.name}|${linear.cols}`;
    const kind = kinds.get(key) ?? { name: linear.name, cols: linear.cols, blocks: [] };
    kind.blocks.push(linear.block);
    kinds.set(key, kind);
  }
  if (count === 0) return undefined;
  const parts = [...kinds.values()].map(
    (k) => `${k.name} (${k.cols} input columns) in ${blocksText(k.blocks)}`,
  );
  return (
    `${pattern.n}:${pattern.m} needs input columns that are a multiple of ${pattern.m}: ` +
    `${count} linear${count === 1 ? '' : 's'} ${count === 1 ? 'stays' : 'stay'} dense, ${parts.join('; ')}.`
  );
}

/** Six decimals: a target read back from a file is the one asked for, without float noise. */
const rounded = (value: number) => Number(value.toFixed(6));

/**
 * What a written model records of its per-layer sparsities (`sparsegpt.*` in safetensors `__metadata__`, carried
 * into GGUF as `general.sparsegpt.*`): every pruned linear's target by tensor name, the allocation, and for OWL its
 * hyperparameters and each block's outlier ratio and sparsity.
 */
export function layerTargetsMetadata(
  plans: ReadonlyMap<string, LinearPlan>,
  settings: PruneSettings,
  allocation?: BlockAllocation,
): Record<string, string> {
  const targets = Object.fromEntries(
    [...plans.values()]
      .filter((p) => p.prune && p.target !== undefined)
      .map((p) => [p.tensor, rounded(p.target ?? 0)]),
  );
  const metadata: Record<string, string> = {
    layer_sparsity: JSON.stringify(targets),
    allocation: settings.allocation ?? 'uniform',
  };
  if (allocation) {
    metadata.owl_threshold = String(settings.owlThreshold ?? OWL_DEFAULTS.threshold);
    metadata.owl_lambda = String(settings.owlLambda ?? OWL_DEFAULTS.lambda);
    metadata.owl_outlier_ratios = JSON.stringify(allocation.outlierRatios.map(rounded));
    metadata.owl_block_sparsity = JSON.stringify(allocation.blockSparsity.map(rounded));
  }
  if (settings.layerTargets?.length) metadata.layer_targets = JSON.stringify(settings.layerTargets);
  return metadata;
}

/**
 * OWL's dense calibration pass (Yin et al., 2024): the calibration samples move through the dense model block by
 * block on the same GPU forward as a run, while every linear's input norms ‖X_j‖ are gathered at the points where
 * a run captures its Hessians; each block's outlier ratio then gives its sparsity (owl-allocation.ts). A run with
 * the OWL allocation calls this before pruning; the app calls it to show the allocation before a run.
 */
import { type InputGroup, toOutIn } from '../forward/architecture';
import { BlockRunner } from '../forward/block-runner';
import { readOnce, uploadBlock } from '../forward/block-weights';
import { maxSequencesPerChunk } from '../forward/chunk-fit';
import { uploadEmbedding } from '../forward/embedding';
import { SequenceStates } from '../forward/sequence-states';
import type { GpuContext } from '../gpu/context';
import { OWL_DEFAULTS, type PruneSettings } from '../settings/prune-settings';
import { InputNormAccumulator } from '../sparsegpt/input-norms';
import type { OpenedModel } from './open-model';
import { outlierRatio, owlBlockSparsity } from './owl-allocation';
import { type BlockAllocation, CancelledError } from './types';

export interface OwlPassOptions {
  /** Sequences per block call (default: what the binding limit allows, at most 8). */
  sequencesPerChunk?: number;
  signal?: AbortSignal;
  /** Called after each block's pass. */
  onBlock?(block: number): void;
}

/** A group's key: its role, and its expert where it has one (each expert sees its own tokens). */
const groupKey = (group: InputGroup) => `${group.role}:${group.expert ?? ''}`;

export async function measureOwlAllocation(
  ctx: GpuContext,
  model: OpenedModel,
  calibration: { ids: Int32Array; seqlen: number },
  settings: Pick<PruneSettings, 'sparsity' | 'owlThreshold' | 'owlLambda'>,
  options: OwlPassOptions = {},
): Promise<BlockAllocation> {
  const { arch, checkpoint } = model;
  const threshold = settings.owlThreshold ?? OWL_DEFAULTS.threshold;
  const perChunk =
    options.sequencesPerChunk ??
    Math.min(8, Math.max(1, maxSequencesPerChunk(ctx, arch, calibration.seqlen)));
  const embedding = await uploadEmbedding(ctx, arch, (name) => checkpoint.readFloat32(name));
  let states: SequenceStates;
  try {
    states = await SequenceStates.embed(
      ctx,
      arch,
      embedding,
      calibration.ids,
      calibration.seqlen,
      perChunk,
      'OWL calibration',
    );
  } finally {
    embedding.destroy();
  }
  let runner: BlockRunner | undefined;
  const outlierRatios: number[] = [];
  try {
    runner = new BlockRunner(ctx, arch, { sequences: states.sequencesPerChunk, seqLen: calibration.seqlen });
    for (let block = 0; block < arch.numBlocks; block++) {
      if (options.signal?.aborted) throw new CancelledError();
      outlierRatios.push(await blockOutlierRatio(ctx, model, block, states, runner, threshold));
      options.onBlock?.(block);
    }
  } finally {
    runner?.destroy();
    states.destroy();
  }
  return {
    outlierRatios,
    blockSparsity: owlBlockSparsity(
      outlierRatios,
      settings.sparsity,
      settings.owlLambda ?? OWL_DEFAULTS.lambda,
    ),
  };
}

/** Moves the states through one dense block, gathering its linears' input norms, and scores the block. */
async function blockOutlierRatio(
  ctx: GpuContext,
  model: OpenedModel,
  block: number,
  states: SequenceStates,
  runner: BlockRunner,
  threshold: number,
): Promise<number> {
  const { arch, checkpoint } = model;
  // Each tensor is read once: the upload and the scores share it.
  const source = readOnce((name) => checkpoint.readFloat32(name));
  const weights = await uploadBlock(ctx, arch, block, source);
  const norms = new Map<string, InputNormAccumulator>();
  try {
    await states.run(runner, weights, (group, X, tokens) => {
      const key = groupKey(group);
      let accumulator = norms.get(key);
      if (!accumulator) {
        accumulator = new InputNormAccumulator(ctx, group.features);
        norms.set(key, accumulator);
      }
      accumulator.add(X, tokens);
    });
    const linears = [];
    for (const group of weights.spec.groups) {
      // An expert no calibration token reached has no inputs to weigh its weights by: it adds no scores.
      const accumulator = norms.get(groupKey(group));
      if (!accumulator) continue;
      const groupNorms = await accumulator.norms();
      for (const linear of group.linears) {
        const W = toOutIn(linear, await source(linear.tensor));
        linears.push({ W, rows: linear.rows, cols: linear.cols, norms: groupNorms });
      }
    }
    return outlierRatio(linears, threshold);
  } finally {
    for (const accumulator of norms.values()) accumulator.destroy();
    weights.destroy();
  }
}

/** The safetensors writer of a pruning run: the run's provenance in the metadata, the pruned linears replaced. */

import type { SinkFactory } from '../io/bytes';
import type { Checkpoint } from '../io/checkpoint';
import { type CheckpointWriter, createCheckpointWriter, pruningMetadata } from '../io/checkpoint-writer';
import { quantizationLabel } from '../settings/prune-settings';
import { TOOL_VERSION } from '../version';
import { type LinearPlan, layerTargetsMetadata } from './plan';
import type { BlockAllocation, PruneSettings } from './types';

export function openRunWriter(
  checkpoint: Checkpoint,
  sinkFor: SinkFactory,
  settings: PruneSettings,
  run: { plans: Map<string, LinearPlan>; allocation?: BlockAllocation; nsamples: number; seqlen: number },
): Promise<CheckpointWriter> {
  const { plans, allocation, nsamples, seqlen } = run;
  const metadata = pruningMetadata({
    method: settings.method,
    sparsity:
      settings.pattern === 'unstructured' ? settings.sparsity : settings.pattern.n / settings.pattern.m,
    pattern:
      settings.pattern === 'unstructured' ? 'unstructured' : `${settings.pattern.n}:${settings.pattern.m}`,
    calibration: `${nsamples}x${seqlen} tokens, seed ${settings.seed}`,
    toolVersion: TOOL_VERSION,
    extra: {
      block_size: settings.blockSize,
      percdamp: settings.percdamp,
      ...(settings.quantization === 'none' ? {} : { quantization: quantizationLabel(settings) }),
      ...layerTargetsMetadata(plans, settings, allocation),
    },
  });
  const replacing = [...plans.values()].filter((p) => p.prune).map((p) => p.tensor);
  return createCheckpointWriter(checkpoint, sinkFor, { metadata, replacing });
}

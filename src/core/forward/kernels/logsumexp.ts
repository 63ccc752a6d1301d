/** Host for shaders/forward/logsumexp_target.wgsl: folds a vocabulary slice of logits into per-token NLL state. */
import shader from '../../../../shaders/forward/logsumexp_target.wgsl?raw';
import type { GpuContext } from '../../gpu/context';
import { workgroupGrid } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import type { CommandRecorder } from '../../gpu/recorder';

export interface LogSumExpArgs {
  /** [tokens, columns] logits of vocabulary ids [vocabStart, vocabStart + columns). */
  logits: GPUBuffer;
  tokens: number;
  columns: number;
  vocabStart: number;
  /** i32 per state row (−1: no target). */
  targets: GPUBuffer;
  /** vec4 (max, sum, target logit, unused) per state row. */
  state: GPUBuffer;
  stateRowStart: number;
}

/** Initial state rows: max −3e38 (exp underflows to 0 against any real logit), sum 0, target logit NaN. */
export function initialLogSumExpState(rows: number): Float32Array {
  const state = new Float32Array(rows * 4);
  for (let i = 0; i < rows; i++) {
    state[i * 4] = -3e38;
    state[i * 4 + 2] = Number.NaN;
  }
  return state;
}

export function encodeLogSumExp(ctx: GpuContext, recorder: CommandRecorder, args: LogSumExpArgs): void {
  if (args.tokens === 0) return;
  const params = recorder.params([args.tokens, args.columns, args.vocabStart, args.stateRowStart]);
  recorder.dispatch(
    computePipeline(ctx, shader),
    [args.logits, args.targets, args.state, params],
    ...workgroupGrid(ctx, args.tokens),
  );
}

/**
 * Host for shaders/forward/linear.wgsl (vec4, `in` % 4 == 0) and shaders/forward/linear_unaligned.wgsl (any `in`):
 * Y[t, outColumnStart + r] = activation(X[t]·W[rowStart + r] + bias[rowStart + r]) + residual, for the rows
 * [rowStart, rowStart + rows) of a split weight matrix, one dispatch per part. X, Y and the residual each
 * start at their own row, so token slices can move between whole-chunk buffers and slice-sized scratch.
 */
import activations from '../../../../shaders/forward/activations.wgsl?raw';
import vec4Shader from '../../../../shaders/forward/linear.wgsl?raw';
import unalignedShader from '../../../../shaders/forward/linear_unaligned.wgsl?raw';
import { placeholderBuffer } from '../../gpu/buffers';
import type { GpuContext } from '../../gpu/context';
import { groupsAlong } from '../../gpu/limits';
import { computePipeline } from '../../gpu/pipelines';
import type { CommandRecorder } from '../../gpu/recorder';
import type { SplitMatrix } from '../../gpu/split-matrix';
import { ACTIVATION_CODE, type ActivationName } from './activation-codes';

export interface LinearArgs {
  /** Row-major [*, W.cols]; tokens are read from row xRowStart on. */
  X: GPUBuffer;
  xRowStart?: number;
  tokens: number;
  W: SplitMatrix;
  /** The weight rows to apply (default: all), e.g. one vocabulary slice of an LM head. */
  rowStart?: number;
  rows?: number;
  /** Indexed by weight row. */
  bias?: GPUBuffer;
  activation?: ActivationName;
  /** Added after the activation; row stride outStride, read from row residualRowStart on. Must not be Y itself. */
  residual?: GPUBuffer;
  residualRowStart?: number;
  /** Written from row yRowStart on. */
  Y: GPUBuffer;
  yRowStart?: number;
  /** Row stride of Y (default: the number of rows applied). */
  outStride?: number;
  /** Column of Y that receives weight row rowStart (default 0). */
  outColumnStart?: number;
}

const TILE = 32;

export function encodeLinear(ctx: GpuContext, recorder: CommandRecorder, args: LinearArgs): void {
  const { W, tokens } = args;
  const rowStart = args.rowStart ?? 0;
  const rows = args.rows ?? W.rows - rowStart;
  const outStride = args.outStride ?? rows;
  const outColumnStart = args.outColumnStart ?? 0;
  if (tokens === 0 || rows === 0) return;
  if (args.residual && args.residual === args.Y) {
    throw new Error(`linear ${W.label}: the residual input and the output must be different buffers`);
  }
  const aligned = W.cols % 4 === 0;
  const pipeline = computePipeline(ctx, activations + (aligned ? vec4Shader : unalignedShader), 'main', {
    HAS_BIAS: args.bias ? 1 : 0,
    HAS_RESIDUAL: args.residual ? 1 : 0,
    ACTIVATION: ACTIVATION_CODE[args.activation ?? 'identity'],
  });
  const placeholder = placeholderBuffer(ctx);
  const tokenGroups = groupsAlong(ctx, tokens, TILE, `linear ${W.label}: tokens`);
  for (const [part, from, to] of W.overlaps(rowStart, rows)) {
    const params = recorder.params([
      tokens,
      aligned ? W.cols / 4 : W.cols,
      to - from,
      from - part.firstRow,
      outStride,
      outColumnStart + (from - rowStart),
      args.xRowStart ?? 0,
      from,
      args.yRowStart ?? 0,
      args.residualRowStart ?? 0,
    ]);
    recorder.dispatch(
      pipeline,
      [args.X, part.buffer, args.bias ?? placeholder, args.residual ?? placeholder, args.Y, params],
      groupsAlong(ctx, to - from, TILE, `linear ${W.label}: rows`),
      tokenGroups,
    );
  }
}

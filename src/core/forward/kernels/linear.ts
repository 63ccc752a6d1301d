/**
 * Host for the forward's linear, Y[t, outColumnStart + r] = activation(X[t]·W[rowStart + r] + bias[rowStart + r])
 * + residual, for the rows [rowStart, rowStart + rows) of a split weight matrix, one dispatch per part. X, Y and
 * the residual each start at their own row, so token slices can move between whole-chunk buffers and slice-sized
 * scratch. Four forms of one kernel (shaders/forward/), chosen per call by linearForm from the context's kernel
 * target, its features and the shape: linear.wgsl (register-tiled, for CPU-backed adapters), linear_tiled.wgsl
 * (workgroup-memory GEMM, for GPUs), linear_subgroup.wgsl (a few tokens on a GPU with subgroups: dot products
 * reduced across lanes), all three needing `in` % 4 == 0, and linear_unaligned.wgsl (any `in`, scalar loads);
 * their parameters, bindings and epilogue are linear_common.wgsl's, prepended to each.
 */
import activations from '../../../../shaders/forward/activations.wgsl?raw';
import vec4Shader from '../../../../shaders/forward/linear.wgsl?raw';
import linearCommon from '../../../../shaders/forward/linear_common.wgsl?raw';
import subgroupShader from '../../../../shaders/forward/linear_subgroup.wgsl?raw';
import tiledShader from '../../../../shaders/forward/linear_tiled.wgsl?raw';
import unalignedShader from '../../../../shaders/forward/linear_unaligned.wgsl?raw';
import { placeholderBuffer } from '../../gpu/buffers';
import type { GpuContext } from '../../gpu/context';
import { groupsAlong } from '../../gpu/limits';
import { computePipeline, type PipelineSpec } from '../../gpu/pipelines';
import type { CommandRecorder } from '../../gpu/recorder';
import type { SplitMatrix } from '../../gpu/split-matrix';
import { joinShaders } from '../../gpu/wgsl-variants';
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

export type LinearForm = 'register' | 'tiled' | 'subgroup' | 'unaligned';

const FORMS: Record<LinearForm, { shader: string; rowsPerGroup: number; tokensPerGroup: number }> = {
  register: { shader: vec4Shader, rowsPerGroup: 32, tokensPerGroup: 32 },
  tiled: { shader: tiledShader, rowsPerGroup: 64, tokensPerGroup: 64 },
  subgroup: { shader: subgroupShader, rowsPerGroup: 4, tokensPerGroup: 4 },
  unaligned: { shader: unalignedShader, rowsPerGroup: 32, tokensPerGroup: 32 },
};

/** Up to this many tokens a GPU with subgroups runs the subgroup form (a tiled GEMM would idle most of its tile). */
export const SUBGROUP_MAX_TOKENS = 4;

/** The form of the linear this context runs for `tokens` tokens of a weight `inFeatures` wide. */
export function linearForm(ctx: GpuContext, inFeatures: number, tokens: number): LinearForm {
  if (inFeatures % 4 !== 0) return 'unaligned';
  if (ctx.kernels === 'cpu') return 'register';
  return ctx.features.subgroups && tokens <= SUBGROUP_MAX_TOKENS ? 'subgroup' : 'tiled';
}

export interface LinearEpilogue {
  bias: boolean;
  residual: boolean;
  activation?: ActivationName;
}

export function linearPipeline(form: LinearForm, epilogue: LinearEpilogue): PipelineSpec {
  return {
    code: joinShaders(activations, linearCommon, FORMS[form].shader),
    constants: {
      HAS_BIAS: epilogue.bias ? 1 : 0,
      HAS_RESIDUAL: epilogue.residual ? 1 : 0,
      ACTIVATION: ACTIVATION_CODE[epilogue.activation ?? 'identity'],
    },
  };
}

export function encodeLinear(
  ctx: GpuContext,
  recorder: CommandRecorder,
  args: LinearArgs,
  form = linearForm(ctx, args.W.cols, args.tokens),
): void {
  const { W, tokens } = args;
  const rowStart = args.rowStart ?? 0;
  const rows = args.rows ?? W.rows - rowStart;
  const outStride = args.outStride ?? rows;
  const outColumnStart = args.outColumnStart ?? 0;
  if (tokens === 0 || rows === 0) return;
  if (args.residual && args.residual === args.Y) {
    throw new Error(`linear ${W.label}: the residual input and the output must be different buffers`);
  }
  const aligned = form !== 'unaligned';
  if (aligned && W.cols % 4 !== 0) throw new Error(`linear ${W.label}: the ${form} form needs in % 4 == 0`);
  const pipeline = computePipeline(
    ctx,
    linearPipeline(form, {
      bias: Boolean(args.bias),
      residual: Boolean(args.residual),
      activation: args.activation,
    }),
  );
  const { rowsPerGroup, tokensPerGroup } = FORMS[form];
  const placeholder = placeholderBuffer(ctx);
  const tokenGroups = groupsAlong(ctx, tokens, tokensPerGroup, `linear ${W.label}: tokens`);
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
      groupsAlong(ctx, to - from, rowsPerGroup, `linear ${W.label}: rows`),
      tokenGroups,
    );
  }
}

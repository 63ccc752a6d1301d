/**
 * One transformer block's weights on the GPU. The linears of each input group are stacked into one split matrix
 * (q|k|v, gate|up) so that a group is one matmul. Each linear has parts of its own (tile-aligned where it is split,
 * as the solver's W is), so that the solver prunes it where it is: the forward's re-run and the writer's readback
 * take the pruned weights from there, with no second upload. A mixture-of-experts block holds its router and each
 * expert's gate|up and down groups instead of one MLP; the norms the block's family adds (q/k, post-sublayer) come
 * with it. Gemma's (1 + w) norms are uploaded as w + 1.
 */
import { uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { SplitMatrix, type SplitOptions, TILE_ROWS } from '../gpu/split-matrix';
import { ModelFileError } from '../io/errors';
import { type Architecture, type BlockSpec, type InputGroup, type NormSpec, transpose } from './architecture';
import type { NormWeights } from './kernels/norm';

/** Returns a checkpoint tensor as f32, whatever its stored dtype. */
export type TensorSource = (name: string) => Promise<Float32Array>;

/** `source` reading each tensor once, however often it is asked for (a block's upload and its solver share reads). */
export function readOnce(source: TensorSource): TensorSource {
  const read = new Map<string, Promise<Float32Array>>();
  return (name) => {
    let tensor = read.get(name);
    if (!tensor) {
      tensor = source(name);
      read.set(name, tensor);
    }
    return tensor;
  };
}

export interface GroupWeights {
  group: InputGroup;
  /** [group.rows, group.features], the linears' rows stacked in group order. */
  W: SplitMatrix;
  /** [group.rows] when any linear of the group has a bias (zeros for those without). */
  bias?: GPUBuffer;
}

/** One expert of a mixture-of-experts block: its gate|up and its down projection. */
export interface ExpertWeights {
  mlp: GroupWeights;
  mlp_output: GroupWeights;
}

export interface MoeWeights {
  /** [experts, hidden]: never pruned. */
  router: SplitMatrix;
  experts: ExpertWeights[];
}

/** The input groups of one block: attention always, the MLP's where it is dense (not a mixture of experts). */
export type BlockGroups = Record<'attention' | 'attention_output', GroupWeights> &
  Partial<Record<'mlp' | 'mlp_output', GroupWeights>>;

export interface BlockWeights {
  readonly spec: BlockSpec;
  readonly groups: BlockGroups;
  /** Mixture-of-experts blocks: the router and the experts, in expert order. */
  readonly moe?: MoeWeights;
  readonly attentionNorm: NormWeights;
  readonly mlpNorm: NormWeights;
  /** The norms some families add: per-head q/k norms ([headDim]), post-attention and post-MLP norms. */
  readonly qNorm?: NormWeights;
  readonly kNorm?: NormWeights;
  readonly postAttentionNorm?: NormWeights;
  readonly postMlpNorm?: NormWeights;
  /**
   * One linear's rows of its group's weight (by its block name, e.g. "self_attn.q_proj", or its tensor name), in
   * the pruner's [rows = out, cols = in] orientation: the same buffers the forward reads, for pruning in place.
   */
  linear(name: string): SplitMatrix;
  /**
   * Swaps in a new weight for one linear (by its block name, e.g. "self_attn.q_proj", or its tensor name), given
   * in the pruner's [rows = out, cols = in] orientation, from the host or a GPU buffer; the rest stays as it is.
   */
  replaceLinear(name: string, W: GPUBuffer | Float32Array): void;
  destroy(): void;
}

export class TensorShapeError extends RangeError {
  constructor(tensor: string, expected: number, got: number) {
    super(`tensor "${tensor}" has ${got} values where the model config implies ${expected}`);
    this.name = 'TensorShapeError';
  }
}

/**
 * Reads a tensor and checks its size against what the architecture expects, and that every value is finite: one NaN
 * would otherwise spread through the forward pass into every later Hessian, far from the tensor that caused it.
 */
export async function readTensor(
  source: TensorSource,
  name: string,
  expected: number,
): Promise<Float32Array> {
  const data = await source(name);
  if (data.length !== expected) throw new TensorShapeError(name, expected, data.length);
  checkFinite(name, data);
  return data;
}

function checkFinite(name: string, data: Float32Array): void {
  let first = -1;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i])) continue;
    if (first < 0) first = i;
    count++;
  }
  if (count === 0) return;
  throw new ModelFileError(
    'non-finite-weights',
    `Tensor "${name}" holds ${count} NaN or infinite value${count === 1 ? '' : 's'} (the first, ${data[first]}, ` +
      `at element ${first}): the checkpoint is damaged or was saved from a diverged training run, so it cannot ` +
      'be pruned. Use an intact copy of the model.',
    { tensor: name },
  );
}

/** A checkpoint matrix on the GPU as [rows, cols], transposed on the way where the checkpoint stores it so. */
export async function uploadMatrix(
  ctx: GpuContext,
  source: TensorSource,
  spec: { tensor: string; rows: number; cols: number; transposed?: boolean },
  options: SplitOptions = {},
): Promise<SplitMatrix> {
  const data = await readTensor(source, spec.tensor, spec.rows * spec.cols);
  const outIn = spec.transposed ? transpose(data, spec.cols, spec.rows) : data;
  return SplitMatrix.upload(ctx, outIn, spec.rows, spec.cols, spec.tensor, options);
}

/**
 * A norm's weight (and bias). With `unitOffset` (Gemma, whose RMSNorm multiplies by 1 + w) the weight goes up as
 * w + 1 rounded to f32, exactly as Gemma's own norm computes (1.0 + weight.float()) in float32.
 */
export async function uploadNorm(
  ctx: GpuContext,
  source: TensorSource,
  spec: { weight: string; bias?: string },
  features: number,
  unitOffset = false,
): Promise<NormWeights> {
  // Both are read (and checked) before either is uploaded, so a bad bias leaves no buffer behind.
  const stored = await readTensor(source, spec.weight, features);
  const weight = unitOffset ? stored.map((w) => 1 + w) : stored;
  const bias = spec.bias ? await readTensor(source, spec.bias, features) : undefined;
  return {
    weight: uploadFloat32(ctx, weight, spec.weight),
    ...(bias && spec.bias ? { bias: uploadFloat32(ctx, bias, spec.bias) } : {}),
  };
}

/** A group's weights, and each of its linears' own rows of them. */
interface UploadedGroup extends GroupWeights {
  linears: SplitMatrix[];
}

async function uploadGroup(ctx: GpuContext, source: TensorSource, group: InputGroup): Promise<UploadedGroup> {
  const linears: SplitMatrix[] = [];
  const withBias = group.linears.some((l) => l.bias);
  const bias = withBias ? new Float32Array(group.rows) : undefined;
  let row = 0;
  try {
    for (const spec of group.linears) {
      linears.push(await uploadMatrix(ctx, source, spec, { rowAlign: TILE_ROWS }));
      if (spec.bias && bias) bias.set(await readTensor(source, spec.bias, spec.rows), row);
      row += spec.rows;
    }
  } catch (error) {
    for (const W of linears) W.destroy();
    throw error;
  }
  const W = SplitMatrix.stack(ctx, linears, `${group.role} weights`);
  return { group, W, linears, ...(bias ? { bias: uploadFloat32(ctx, bias, `${group.role} bias`) } : {}) };
}

/** Uploads block `index`, reading each tensor once through `source` (the pipeline streams the checkpoint). */
export async function uploadBlock(
  ctx: GpuContext,
  arch: Architecture,
  index: number,
  source: TensorSource,
): Promise<BlockWeights> {
  const spec = arch.block(index);
  const uploaded: UploadedGroup[] = [];
  const norms = new Map<string, NormWeights>();
  let router: SplitMatrix | undefined;
  const destroy = () => {
    for (const g of uploaded) {
      g.W.destroy();
      g.bias?.destroy();
    }
    for (const n of norms.values()) {
      n.weight.destroy();
      n.bias?.destroy();
    }
    router?.destroy();
  };
  try {
    for (const group of spec.groups) uploaded.push(await uploadGroup(ctx, source, group));
    const unit = arch.norm.unitOffset === true;
    const wanted: Array<[string, NormSpec | undefined, number]> = [
      ['attentionNorm', spec.attentionNorm, arch.hiddenSize],
      ['mlpNorm', spec.mlpNorm, arch.hiddenSize],
      ['qNorm', spec.qNorm, arch.headDim],
      ['kNorm', spec.kNorm, arch.headDim],
      ['postAttentionNorm', spec.postAttentionNorm, arch.hiddenSize],
      ['postMlpNorm', spec.postMlpNorm, arch.hiddenSize],
    ];
    for (const [name, norm, features] of wanted) {
      if (norm) norms.set(name, await uploadNorm(ctx, source, norm, features, unit));
    }
    if (spec.moe) router = await uploadMatrix(ctx, source, spec.moe.router);
  } catch (error) {
    destroy();
    throw error;
  }
  const dense = uploaded.filter((g) => g.group.expert === undefined);
  const groups = Object.fromEntries(dense.map((g) => [g.group.role, g])) as unknown as BlockGroups;
  const moe = router ? { router, experts: expertsOf(uploaded) } : undefined;
  return {
    spec,
    groups,
    ...(moe ? { moe } : {}),
    attentionNorm: norms.get('attentionNorm') as NormWeights,
    mlpNorm: norms.get('mlpNorm') as NormWeights,
    qNorm: norms.get('qNorm'),
    kNorm: norms.get('kNorm'),
    postAttentionNorm: norms.get('postAttentionNorm'),
    postMlpNorm: norms.get('postMlpNorm'),
    linear: (name) => locateLinear(uploaded, name).matrix,
    replaceLinear(name, W) {
      const { matrix, linear } = locateLinear(uploaded, name);
      if (W instanceof Float32Array) {
        if (W.length !== linear.rows * linear.cols) {
          throw new TensorShapeError(linear.tensor, linear.rows * linear.cols, W.length);
        }
        matrix.write(0, W);
        return;
      }
      const encoder = ctx.device.createCommandEncoder();
      matrix.copyRowsFrom(encoder, 0, W, linear.rows);
      ctx.device.queue.submit([encoder.finish()]);
    },
    destroy,
  };
}

/** Each expert's gate|up and down groups, in expert order. */
function expertsOf(uploaded: UploadedGroup[]): ExpertWeights[] {
  const experts: Array<Partial<ExpertWeights>> = [];
  for (const g of uploaded) {
    const { expert, role } = g.group;
    if (expert === undefined) continue;
    experts[expert] ??= {};
    if (role === 'mlp' || role === 'mlp_output') experts[expert][role] = g;
  }
  return experts.map((e, index) => {
    if (!e.mlp || !e.mlp_output) throw new Error(`expert ${index} lacks its gate|up or down projection`);
    return e as ExpertWeights;
  });
}

function locateLinear(groups: UploadedGroup[], name: string) {
  for (const weights of groups) {
    const index = weights.group.linears.findIndex((l) => l.name === name || l.tensor === name);
    if (index >= 0) return { matrix: weights.linears[index], linear: weights.group.linears[index] };
  }
  const known = groups.flatMap((g) => g.group.linears.map((l) => l.name)).join(', ');
  throw new RangeError(`this block has no linear "${name}" (it has ${known})`);
}

/**
 * What one BlockRunner.run call hands to each stage of the block (block-runner.ts): the call's recorder, weights,
 * hidden states in and out, token slices, capture callback, and the runner's intermediates (block-buffers.ts).
 * The stages (attention-sublayer.ts, residual-stages.ts, block-mlp.ts) are functions of this one object, so that
 * the runner reads as the sequence of a block's stages.
 */
import type { GpuContext } from '../gpu/context';
import type { CommandRecorder } from '../gpu/recorder';
import type { MatrixPart, SplitMatrix } from '../gpu/split-matrix';
import type { ExpertCalibration } from '../settings/prune-settings';
import type { Architecture, InputGroup } from './architecture';
import type { BlockBuffers } from './block-buffers';
import type { BlockWeights } from './block-weights';
import type { ChunkShape } from './chunk-fit';
import { type HeadGroup, queriesPerKvHead } from './head-groups';
import type { AttentionScoresAndOutput } from './kernels/attention';
import { encodeNorm, type NormWeights } from './kernels/norm';
import type { BlockKeyValues } from './kv-cache';

/**
 * Receives the exact f32 [tokens, group.features] input of a group's linears, on the GPU, before the block goes
 * on (the work encoded so far has been submitted; anything the callback submits runs before the block continues).
 * The buffer may be longer than tokens rows and is overwritten later: consume it, don't keep it.
 */
export type CaptureInput = (group: InputGroup, X: GPUBuffer, tokens: number) => void | Promise<void>;

/**
 * Hidden states [tokens, hidden]: one buffer, or a SplitMatrix split by token ranges where one buffer would exceed
 * the binding limit (see tokensPerRange).
 */
export type HiddenStates = GPUBuffer | SplitMatrix;

export interface RunBlockOptions extends ChunkShape {
  /** Position of each sequence's first token (default 0). */
  positionOffset?: number;
  capture?: CaptureInput;
  /** Mixtures of experts, while capturing: each expert's inputs over its routed tokens (default) or every token. */
  expertCalibration?: ExpertCalibration;
  /** Generation: this block's KV cache for the one sequence of the call (see block-runner.ts's header). */
  cache?: BlockKeyValues;
  /**
   * The length of the whole sequence where the call runs a piece of it (generation): RoPE whose frequencies depend
   * on the length (dynamic, LongRoPE) takes them from it. Default: positionOffset + seqLen.
   */
  sequenceLength?: number;
}

/** One chunk's call: its recorder, weights, hidden states in and out, token slices, and the capture callback. */
export interface BlockCall {
  ctx: GpuContext;
  arch: Architecture;
  buffers: BlockBuffers;
  recorder: CommandRecorder;
  weights: BlockWeights;
  hidden: SplitMatrix;
  out: SplitMatrix;
  tokens: number;
  slices: Array<[number, number]>;
  options: RunBlockOptions;
  capture(group: InputGroup, X: GPUBuffer, tokens: number): Promise<void>;
}

/** Rows [start, start + rows) of one buffer. */
export interface RowsAt {
  buffer: GPUBuffer;
  row: number;
}

/** The model's norm over `rows` rows of hidden states, with the residual added after it where one is given. */
export function encodeBlockNorm(
  call: BlockCall,
  weights: NormWeights,
  X: GPUBuffer,
  xRowStart: number,
  rows: number,
  Y: GPUBuffer,
  yRowStart = 0,
  residual?: RowsAt,
): void {
  const { arch } = call;
  encodeNorm(call.ctx, call.recorder, {
    kind: arch.norm.kind,
    X,
    xRowStart,
    rows,
    features: arch.hiddenSize,
    eps: arch.norm.eps,
    weights,
    Y,
    yRowStart,
    ...(residual ? { residual: residual.buffer, residualRowStart: residual.row } : {}),
  });
}

/**
 * How a head group's attention scores are scaled, windowed and capped in this block, and where its columns of the
 * attention output go in one token range's `part`: the same for causal attention and attention over a KV cache.
 */
export function headGroupScoresAndOutput(
  call: BlockCall,
  heads: HeadGroup,
  part: MatrixPart,
): AttentionScoresAndOutput & { outColumn: number; outRowOffset: number } {
  const { arch } = call;
  return {
    scale: arch.attentionScale,
    window: call.weights.spec.slidingWindow,
    softcap: arch.attentionSoftcap,
    out: part.buffer,
    outStride: arch.heads * arch.headDim,
    outColumn: heads.firstKvHead * queriesPerKvHead(arch) * arch.headDim,
    outRowOffset: part.firstRow,
  };
}

/**
 * One transformer block on the GPU over a chunk of calibration or evaluation sequences: hidden states in, hidden
 * states out, both row-major f32 [sequences·seqLen, hidden]. Each sequence is independent (causal attention within
 * it). Intermediate buffers are sized for the chunk and reused from block to block.
 *
 * The block is a sequence of stages (encodeBlock), each in its own module over one call (block-call.ts): the
 * attention sublayer (attention-sublayer.ts: norm, q|k|v projection, per-head q/k norms, rotary, causal attention),
 * then per token slice o_proj with the residual add and the MLP with its own (residual-stages.ts, block-mlp.ts;
 * mixtures of experts: expert-mlp.ts). Where a chunk is larger than one storage binding, three splits keep every
 * buffer bindable without changing a result bit (each in its own module, the buffers in block-buffers.ts): token
 * slices (token-slices.ts) for the per-token work, head groups (head-groups.ts) for attention, and token ranges
 * (token-ranges.ts) for the hidden states and the attention output. What must stay whole, and how many sequences a
 * chunk may hold, is in chunk-fit.ts; past that, a GpuLimitError says which sequences per chunk or seqLen fit.
 *
 * How a model is driven (SequenceStates holds the chunks; model-forward.ts runs a dense model this way, and
 * pipeline/prune-model.ts prunes between the two runs of each block):
 *
 *   const runner = new BlockRunner(ctx, arch, { sequences: perChunk, seqLen });  // perChunk ≤ maxSequencesPerChunk
 *   for each block b: const weights = await uploadBlock(ctx, arch, b, source);
 *     await runner.captureAttentionInput(weights, chunk.hidden, spare, { …, capture });  // q|k|v's H only (early)
 *     await runner.run(weights, chunk.hidden, spare, { sequences, seqLen, capture });  // every chunk: H += XᵀX
 *     await pruneLayerInPlace(ctx, weights.linear(name), prepared, options);           // every linear, in place
 *     await runner.run(weights, chunk.hidden, spare, { sequences, seqLen });           // next block's inputs
 *
 * capture(group, X, tokens) is called for each input group in the order of arch.block(b).groups (attention,
 * attention_output, mlp, mlp_output): once per chunk, or once per token slice or token range, in token order, where
 * the input is computed or held in parts. X is [tokens, group.features] f32 on the GPU, valid only until the
 * callback's promise settles: HessianAccumulator.add(X, tokens) encodes on the same queue, so nothing is read back.
 * Mixture-of-experts blocks capture mlp and mlp_output once per expert (the group's `expert` set) with the rows of
 * the tokens routed to it, in expert order, only for experts that have rows; with expertCalibration 'all' every
 * expert gets every token's rows. Evaluation windows that do not start at position 0 pass `positionOffset`.
 *
 * Generation (src/core/generate) runs one sequence with a block's KV cache (kv-cache.ts) in `cache`: see
 * cached-attention.ts.
 */
import type { GpuContext } from '../gpu/context';
import { withErrorScope } from '../gpu/pipelines';
import { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import type { Architecture } from './architecture';
import { captureAttentionInput, encodeAttentionSublayer } from './attention-sublayer';
import { BlockBuffers } from './block-buffers';
import type { BlockCall, HiddenStates, RunBlockOptions } from './block-call';
import type { BlockWeights } from './block-weights';
import { type ChunkShape, requireChunkFits } from './chunk-fit';
import type { HeadGroup } from './head-groups';
import { encodeTokenSlice } from './residual-stages';
import { tokenSlices } from './token-slices';

export type { CaptureInput, HiddenStates, RunBlockOptions } from './block-call';

export class BlockRunner {
  private readonly buffers: BlockBuffers;

  /**
   * Allocates the intermediates for chunks of up to `shape.sequences` × `shape.seqLen` tokens: the q|k|v of the
   * widest head group and the attention output (in token ranges where needed) for all of them, the per-token
   * intermediates for as many tokens as one binding holds.
   */
  constructor(
    readonly ctx: GpuContext,
    readonly arch: Architecture,
    shape: ChunkShape,
  ) {
    this.buffers = new BlockBuffers(ctx, arch, shape);
  }

  /** Tokens per slice of the per-token work: the whole chunk where it fits one binding. */
  get tokensPerSlice(): number {
    return this.buffers.sliceCapacity;
  }

  /** Attention's head groups: one with every head unless the q|k|v of a chunk exceeds one binding. */
  get headGroups(): readonly HeadGroup[] {
    return this.buffers.headGroups;
  }

  /** Buffers of the attention output: 1 unless a chunk's exceeds one binding. */
  get attentionRanges(): number {
    return this.buffers.attention.parts.length;
  }

  /**
   * Runs `weights` on `hidden` into `out` (both [sequences·seqLen, hidden], one buffer or split by token ranges,
   * sharing no buffer), calling `capture` with the input of each of the block's input groups on the way: once
   * for the whole chunk where the runner holds that input whole (the attention output; the block input of
   * post-norm blocks), once per token range where it is held split, otherwise once per token slice; in token
   * order.
   */
  async run(
    weights: BlockWeights,
    hidden: HiddenStates,
    out: HiddenStates,
    options: RunBlockOptions,
  ): Promise<void> {
    await this.call(weights, hidden, out, options, encodeBlock);
  }

  /**
   * Only the capture of the q|k|v projection's input, in the same calls (same token slices, so `out` as `run` would
   * be given it) as `run` makes them; nothing is written to `out`.
   */
  async captureAttentionInput(
    weights: BlockWeights,
    hidden: HiddenStates,
    out: HiddenStates,
    options: RunBlockOptions,
  ): Promise<void> {
    await this.call(weights, hidden, out, options, captureAttentionInput);
  }

  private async call(
    weights: BlockWeights,
    hidden: HiddenStates,
    out: HiddenStates,
    options: RunBlockOptions,
    encode: (call: BlockCall) => Promise<void>,
  ): Promise<void> {
    const { ctx, arch, buffers } = this;
    const { sequences, seqLen } = options;
    requireChunkFits(ctx, arch, options);
    const tokens = sequences * seqLen;
    if (tokens > buffers.maxTokens) {
      throw new RangeError(
        `this block runner was sized for ${buffers.maxTokens} tokens, got ${sequences} × ${seqLen}`,
      );
    }
    const inputs = SplitMatrix.rowsOf(
      ctx,
      hidden,
      tokens,
      arch.hiddenSize,
      'runBlock: the input hidden states',
    );
    const outputs = SplitMatrix.rowsOf(
      ctx,
      out,
      tokens,
      arch.hiddenSize,
      'runBlock: the output hidden states',
    );
    if (hidden === out || inputs.sharesBufferWith(outputs))
      throw new Error('runBlock: the input and output hidden states must be different buffers');
    if (options.cache && sequences !== 1) throw new RangeError('runBlock: a KV cache holds one sequence');
    const recorder = new CommandRecorder(ctx, `block ${weights.spec.index}`);
    const call: BlockCall = {
      ctx,
      arch,
      buffers,
      recorder,
      weights,
      hidden: inputs,
      out: outputs,
      tokens,
      slices: tokenSlices(tokens, [inputs, outputs, buffers.attention], buffers.sliceCapacity),
      options,
      capture: async (group, X, rows) => {
        if (!options.capture) return;
        recorder.submit();
        await options.capture(group, X, rows);
      },
    };
    try {
      await withErrorScope(ctx, `block ${weights.spec.index}`, () => encode(call));
    } finally {
      recorder.destroy();
    }
  }

  destroy(): void {
    this.buffers.destroy();
  }
}

/** One block's stages: attention over the whole chunk, then the per-token rest slice by slice into `out`. */
async function encodeBlock(call: BlockCall): Promise<void> {
  await encodeAttentionSublayer(call);
  for (const [start, count] of call.slices) await encodeTokenSlice(call, start, count);
  call.recorder.submit();
}

/** One block call with its own intermediates; for many calls keep a BlockRunner. */
export async function runBlock(
  ctx: GpuContext,
  arch: Architecture,
  weights: BlockWeights,
  hidden: HiddenStates,
  out: HiddenStates,
  options: RunBlockOptions,
): Promise<void> {
  const runner = new BlockRunner(ctx, arch, options);
  try {
    await runner.run(weights, hidden, out, options);
  } finally {
    runner.destroy();
  }
}

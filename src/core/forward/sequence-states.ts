/**
 * The hidden states of a set of equal-length sequences (calibration samples or evaluation windows) as they move
 * through the model block by block, held on the GPU in chunks that one BlockRunner call takes. A chunk's hidden
 * states are one buffer where they fit one storage binding, else several split by token ranges (tokensPerRange
 * tokens each, the same boundaries as the BlockRunner's attention output): one long sequence may exceed a
 * binding (a Llama-70B sequence of 8192 tokens is 256 MiB, the default limit 128 MiB).
 */
import { nextTokenTargets } from '../eval/perplexity-windows';
import type { GpuContext } from '../gpu/context';
import { SplitMatrix } from '../gpu/split-matrix';
import type { ExpertCalibration } from '../settings/prune-settings';
import type { Architecture } from './architecture';
import type { BlockRunner, CaptureInput, RunBlockOptions } from './block-runner';
import type { BlockWeights } from './block-weights';
import { requireChunkFits } from './chunk-fit';
import { type EmbeddingWeights, embedInto } from './embedding';
import { type HeadWeights, nll } from './head';
import { tokensPerRange } from './token-ranges';

interface Chunk {
  start: number;
  count: number;
  hidden: SplitMatrix;
}

export class SequenceStates {
  private readonly chunks: Chunk[] = [];
  private spare?: SplitMatrix;

  private constructor(
    private readonly ctx: GpuContext,
    private readonly arch: Architecture,
    readonly ids: Int32Array,
    readonly seqLen: number,
    private readonly perChunk: number,
    private readonly positionOffset?: number,
  ) {}

  /** Embeds `ids` (row-major [sequences, seqLen]) into chunks of at most `perChunk` sequences. */
  static async embed(
    ctx: GpuContext,
    arch: Architecture,
    embedding: EmbeddingWeights,
    ids: Int32Array,
    seqLen: number,
    perChunk: number,
    label: string,
    positionOffset?: number,
  ): Promise<SequenceStates> {
    const sequences = ids.length / seqLen;
    const states = new SequenceStates(ctx, arch, ids, seqLen, Math.min(perChunk, sequences), positionOffset);
    requireChunkFits(ctx, arch, { sequences: states.perChunk, seqLen });
    const allocate = () =>
      SplitMatrix.allocate(ctx, states.perChunk * seqLen, arch.hiddenSize, `${label} hidden states`, {
        maxRowsPerPart: tokensPerRange(ctx, arch),
      });
    try {
      for (let start = 0; start < sequences; start += states.perChunk) {
        const count = Math.min(states.perChunk, sequences - start);
        const hidden = allocate();
        states.chunks.push({ start, count, hidden });
        const chunkIds = ids.subarray(start * seqLen, (start + count) * seqLen);
        await embedInto(ctx, arch, embedding, chunkIds, { sequences: count, seqLen, positionOffset }, hidden);
      }
      states.spare = allocate();
    } catch (error) {
      states.destroy();
      throw error;
    }
    return states;
  }

  get sequencesPerChunk(): number {
    return this.perChunk;
  }

  get sequences(): number {
    return this.ids.length / this.seqLen;
  }

  /**
   * Runs every chunk through one block; the block's output becomes these states. `capture` sees the linears'
   * inputs on the way (a dense pass that measures inputs and moves on in one go, as OWL's does).
   */
  async run(runner: BlockRunner, weights: BlockWeights, capture?: CaptureInput): Promise<void> {
    await this.runChunks(runner, weights, true, capture);
  }

  /**
   * Runs every chunk through one block only to capture its linears' inputs: the states stay as they were, since
   * the next block must see the output of the block after pruning, not before.
   */
  async capture(
    runner: BlockRunner,
    weights: BlockWeights,
    capture: CaptureInput,
    expertCalibration?: ExpertCalibration,
  ): Promise<void> {
    await this.runChunks(runner, weights, false, capture, expertCalibration);
  }

  /**
   * Captures only the input of the block's q|k|v projection, chunk by chunk, exactly as `capture` sees it: the
   * pruner's first pass of a block, which needs nothing else of the block to have run.
   */
  async captureAttentionInput(
    runner: BlockRunner,
    weights: BlockWeights,
    capture: CaptureInput,
  ): Promise<void> {
    for (const chunk of this.chunks) {
      await runner.captureAttentionInput(
        weights,
        chunk.hidden,
        this.spare as SplitMatrix,
        this.callOptions(chunk, capture),
      );
    }
  }

  /** One chunk's block call: its shape and positions, and what to capture on the way. */
  private callOptions(
    chunk: Chunk,
    capture?: CaptureInput,
    expertCalibration?: ExpertCalibration,
  ): RunBlockOptions {
    return {
      sequences: chunk.count,
      seqLen: this.seqLen,
      positionOffset: this.positionOffset,
      capture,
      expertCalibration,
    };
  }

  private async runChunks(
    runner: BlockRunner,
    weights: BlockWeights,
    advance: boolean,
    capture?: CaptureInput,
    expertCalibration?: ExpertCalibration,
  ): Promise<void> {
    for (const chunk of this.chunks) {
      const out = this.spare as SplitMatrix;
      await runner.run(weights, chunk.hidden, out, this.callOptions(chunk, capture, expertCalibration));
      if (!advance) continue;
      this.spare = chunk.hidden;
      chunk.hidden = out;
    }
  }

  /** Next-token NLL at every position (NaN at each sequence's last position), through the model's head. */
  async nll(head: HeadWeights): Promise<{ nll: Float64Array; targets: Int32Array }> {
    const targets = nextTokenTargets(this.ids, this.seqLen);
    const result = new Float64Array(this.ids.length);
    for (const chunk of this.chunks) {
      const [from, to] = [chunk.start * this.seqLen, (chunk.start + chunk.count) * this.seqLen];
      result.set(await nll(this.ctx, this.arch, head, chunk.hidden, targets.subarray(from, to)), from);
    }
    return { nll: result, targets };
  }

  destroy(): void {
    for (const chunk of this.chunks) chunk.hidden.destroy();
    this.chunks.length = 0;
    this.spare?.destroy();
    this.spare = undefined;
  }
}

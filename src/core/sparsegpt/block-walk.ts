/**
 * The steps of SparseGPT's walk over one block of columns of a split W, each a timed step that runs its kernel host
 * (select.ts, walk.ts, quant-scales.ts, lazy-update.ts) on every part of W: the block's rows of U (the panel), the
 * unstructured mask's threshold, the column walk (which, quantizing, takes each ggml block's scales when it reaches
 * the block's first column), the lazy batch update. The scratch these share (the panel, each part's error block
 * Err1, the select state) is sized once per layer, and checked against the binding limit there.
 */
import type { GpuContext } from '../gpu/context';
import { bindingLimit } from '../gpu/limits';
import type { CommandRecorder } from '../gpu/recorder';
import type { SplitMatrix } from '../gpu/split-matrix';
import { InvalidSettingError } from './errors';
import { blockScratchStrides, encodeLazyBatchUpdate } from './lazy-update';
import { maskStride } from './mask-bits';
import { encodeBlockScales, scaleStride } from './quant-scales';
import { createSelectScratch, encodeRadixSelect, SelectMetric, type SelectScratch } from './select';
import type { ResolvedLayerPrune, ResolvedQuantization } from './settings';
import { encodePruneBlockWalk, type WalkBlock, type WalkMask } from './walk';

/** Columns [start, start + count) of W. */
export interface ColumnBlock {
  start: number;
  count: number;
}

/** What the walk does besides the pruning mask: per part of W, the scale words it fills and the mask bits it reads. */
export interface WalkOutputs {
  mask: WalkMask;
  /** GPTQ: the type each kept weight is rounded to. */
  quantization?: ResolvedQuantization;
  scales?: GPUBuffer[];
  maskBits?: GPUBuffer[];
}

export class BlockWalk {
  private readonly errStride: number;
  private readonly panelStride: number;
  /** U[block, :], the paper's Hinv1 (full width, for the lazy update), row stride panelStride. */
  private readonly uPanel: GPUBuffer;
  /** Err1 of each part of W: [part rows, errStride]. */
  private readonly errs: GPUBuffer[];
  private readonly select: SelectScratch;

  constructor(
    private readonly ctx: GpuContext,
    private readonly recorder: CommandRecorder,
    private readonly W: SplitMatrix,
    private readonly U: SplitMatrix,
    private readonly settings: ResolvedLayerPrune,
    private readonly outputs: WalkOutputs,
  ) {
    const { errStride, panelStride, panelRows } = blockScratchStrides(W.cols, settings.blockSize);
    const panelBytes = panelRows * panelStride * 4;
    if (panelBytes > bindingLimit(ctx)) {
      throw new InvalidSettingError(
        'blockSize',
        settings.blockSize,
        `${panelRows} rows of U exceed this GPU's binding limit; use at most ` +
          `${Math.floor(bindingLimit(ctx) / (panelStride * 4 * 32)) * 32}`,
      );
    }
    this.errStride = errStride;
    this.panelStride = panelStride;
    this.uPanel = recorder.buffer(panelBytes, 'uPanel');
    this.errs = W.parts.map((part) => recorder.buffer(part.rows * errStride * 4, 'err'));
    this.select = createSelectScratch(recorder);
  }

  /** Copies the block's rows of U into the panel that the next steps read. */
  copyPanel(block: ColumnBlock): void {
    this.U.copyRowsTo(this.recorder.commands, block.start, block.count, this.uPanel, this.panelStride);
  }

  /** The unstructured mask's threshold: the k-th smallest w²/U_cc² of the block, k = sparsity · rows · count. */
  async selectMask(block: ColumnBlock, sparsity: number): Promise<void> {
    const rank = Math.floor(this.W.rows * block.count * sparsity);
    await this.recorder.step('select', () =>
      encodeRadixSelect(this.ctx, this.recorder, this.W, this.select, {
        metric: SelectMetric.weightOverDiagonalSquared,
        colStart: block.start,
        colCount: block.count,
        rank,
        uPanel: this.uPanel,
        panelStride: this.panelStride,
      }),
    );
  }

  /**
   * The column walk: each column masked (and rounded), its error spread over the block's later columns and kept in
   * Err1. Quantizing, the walk goes one ggml block of columns at a time, each block's scales taken first from the
   * weights as the walk has left them.
   */
  async walkColumns(block: ColumnBlock): Promise<void> {
    const walkBlock = this.walkBlock(block);
    const { quantization, scales, maskBits, mask } = this.outputs;
    const withScales = quantization && quantization.scaleWords > 0 ? quantization : undefined;
    const step = withScales ? withScales.blockColumns : block.count;
    const stride = quantization ? scaleStride(quantization, this.W.cols) : 0;
    await this.recorder.step('walk', () => {
      for (let start = 0; start < block.count; start += step) {
        const range = { start, end: Math.min(start + step, block.count) };
        this.W.parts.forEach((part, i) => {
          if (withScales && scales) {
            encodeBlockScales(this.ctx, this.recorder, part, scales[i], withScales, {
              columns: this.W.cols,
              groupStart: block.start + start,
              groupCount: 1,
              scaleStride: stride,
              uPanel: this.uPanel,
              panelStride: this.panelStride,
              blockStart: block.start,
            });
          }
          encodePruneBlockWalk(this.ctx, this.recorder, part, walkBlock, this.settings, {
            mask,
            quantization,
            spread: true,
            range,
            err: this.errs[i],
            scales: scales?.[i],
            scaleStride: stride,
            maskBits: maskBits?.[i],
            maskStride: maskStride(this.W.cols),
          });
        });
      }
    });
  }

  /** W[:, blockEnd:] −= Err1 · U[block, blockEnd:]. */
  async lazyUpdate(block: ColumnBlock): Promise<void> {
    const walkBlock = this.walkBlock(block);
    await this.recorder.step('lazyUpdate', () => {
      this.W.parts.forEach((part, i) => {
        encodeLazyBatchUpdate(this.ctx, this.recorder, part, this.errs[i], walkBlock);
      });
    });
  }

  private walkBlock(block: ColumnBlock): WalkBlock {
    return {
      columns: this.W.cols,
      blockStart: block.start,
      blockCount: block.count,
      errStride: this.errStride,
      uPanel: this.uPanel,
      panelStride: this.panelStride,
      selectState: this.select.state,
    };
  }
}

/**
 * The steps of SparseGPT's walk over one block of columns of a split W, each a timed step that runs its kernel host
 * (select.ts, walk.ts, lazy-update.ts) on every part of W: the block's rows of U (the panel), the unstructured
 * mask's threshold, the column walk, the lazy batch update. The scratch these share (the panel, each part's error
 * block Err1, the select state) is sized once per layer, and checked against the binding limit there.
 */
import type { GpuContext } from '../gpu/context';
import { bindingLimit } from '../gpu/limits';
import type { CommandRecorder } from '../gpu/recorder';
import type { SplitMatrix } from '../gpu/split-matrix';
import { InvalidSettingError } from './errors';
import { blockScratchStrides, encodeLazyBatchUpdate } from './lazy-update';
import { createSelectScratch, encodeRadixSelect, SelectMetric, type SelectScratch } from './select';
import type { ResolvedLayerPrune } from './settings';
import { encodePruneBlockWalk, type WalkBlock } from './walk';

/** Columns [start, start + count) of W. */
export interface ColumnBlock {
  start: number;
  count: number;
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

  /** The column walk: each column masked, its error spread over the block's later columns and kept in Err1. */
  async walkColumns(block: ColumnBlock): Promise<void> {
    const walkBlock = this.walkBlock(block);
    await this.recorder.step('walk', () => {
      this.W.parts.forEach((part, i) => {
        encodePruneBlockWalk(this.ctx, this.recorder, part, this.errs[i], walkBlock, this.settings);
      });
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

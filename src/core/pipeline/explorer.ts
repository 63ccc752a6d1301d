/**
 * The layer explorer: after a run, any layer whose prepared Hessian factor was kept can be re-pruned at another
 * sparsity, pattern or method without recomputing H or its inverse, which is what lets the app's sliders show a
 * layer's error live.
 */
import type { GpuContext } from '../gpu/context';
import { type PreparedLayer, prepareLayer } from '../sparsegpt/prepare';
import { pruneLayer } from '../sparsegpt/prune';
import { maskPreview } from './mask-preview';
import type { MaskPreview, PrunableLinear, PruneMethod, SparsityPattern } from './types';

export interface ExplorerProbe {
  sparsity: number;
  relativeError: number;
  mask: MaskPreview;
}

export interface ExplorerCurvePoint {
  sparsity: number;
  sparsegpt: number;
  wanda: number;
  magnitude: number;
}

/**
 * One input group as the explorer keeps it, in plain arrays: the undamped Hessian its linears share and each
 * linear's dense W. Enough to prepare the group again (prepareLayer at the dampening finally used gives the same
 * factor), so an explorer can be saved with a run and reopened after a reload.
 */
export interface ExplorerGroup {
  columns: number;
  /** Calibration tokens behind H. */
  tokens: number;
  /** The dampening the run finally used, as a fraction of mean(diag H). */
  percdamp: number;
  /** [columns, columns], as prepared. */
  H: Float32Array;
  layers: Array<{ linear: PrunableLinear; W: Float32Array }>;
}

interface KeptLayer {
  linear: PrunableLinear;
  /** The dense weight [rows, cols] as the run saw it (inputs from the already-pruned blocks before it). */
  W: Float32Array;
  prepared: PreparedLayer;
}

export class LayerExplorer {
  private readonly kept = new Map<string, KeptLayer>();
  /** Prepared factors are shared by the linears of one input group. */
  private readonly owned = new Set<PreparedLayer>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: GpuContext,
    readonly blockSize: number,
  ) {}

  /** An explorer from saved groups (see groups()), prepared again on this context. */
  static async restore(ctx: GpuContext, blockSize: number, groups: ExplorerGroup[]): Promise<LayerExplorer> {
    const explorer = new LayerExplorer(ctx, blockSize);
    try {
      for (const group of groups) {
        const prepared = await prepareLayer(ctx, group.H, group.columns, {
          percdamp: group.percdamp,
          tokens: group.tokens,
          maxRetries: 0,
        });
        explorer.owned.add(prepared);
        for (const { linear, W } of group.layers) explorer.keep(linear, W, prepared);
      }
      return explorer;
    } catch (error) {
      explorer.destroy();
      throw error;
    }
  }

  /** What the explorer keeps, read back from the GPU, grouped by shared factor, for saving. */
  groups(): Promise<ExplorerGroup[]> {
    return this.serialized(async () => {
      const groups: ExplorerGroup[] = [];
      for (const prepared of this.owned) {
        const layers = [...this.kept.values()]
          .filter((k) => k.prepared === prepared)
          .map(({ linear, W }) => ({ linear, W }));
        const H = await prepared.H.read();
        groups.push({
          columns: prepared.columns,
          tokens: prepared.tokens,
          percdamp: prepared.percdamp,
          H,
          layers,
        });
      }
      return groups;
    });
  }

  get layers(): PrunableLinear[] {
    return [...this.kept.values()].map((k) => k.linear);
  }

  keep(linear: PrunableLinear, W: Float32Array, prepared: PreparedLayer): void {
    this.kept.set(linear.tensor, { linear, W, prepared });
    this.owned.add(prepared);
  }

  probe(
    tensor: string,
    options: { method: PruneMethod; sparsity: number; pattern: SparsityPattern },
  ): Promise<ExplorerProbe> {
    return this.serialized(async () => {
      const layer = this.layer(tensor);
      const { rows, cols } = layer.linear;
      const pruned = await pruneLayer(this.ctx, layer.W, rows, cols, layer.prepared, {
        ...options,
        blockSize: this.blockSize,
      });
      return {
        sparsity: pruned.sparsity,
        relativeError: pruned.relativeError,
        mask: maskPreview(pruned.W, rows, cols),
      };
    });
  }

  /** Relative error of each method at each unstructured sparsity. */
  curve(tensor: string, sparsities: number[]): Promise<ExplorerCurvePoint[]> {
    return this.serialized(async () => {
      const layer = this.layer(tensor);
      const { rows, cols } = layer.linear;
      const points: ExplorerCurvePoint[] = [];
      for (const sparsity of sparsities) {
        const point: ExplorerCurvePoint = { sparsity, sparsegpt: 0, wanda: 0, magnitude: 0 };
        for (const method of ['sparsegpt', 'wanda', 'magnitude'] as const) {
          const pruned = await pruneLayer(this.ctx, layer.W, rows, cols, layer.prepared, {
            method,
            sparsity,
            pattern: 'unstructured',
            blockSize: this.blockSize,
          });
          point[method] = pruned.relativeError;
        }
        points.push(point);
      }
      return points;
    });
  }

  destroy(): void {
    for (const prepared of this.owned) prepared.destroy();
    this.owned.clear();
    this.kept.clear();
  }

  private layer(tensor: string): KeptLayer {
    const layer = this.kept.get(tensor);
    if (!layer) {
      throw new RangeError(
        `The explorer kept no factor for ${tensor}` +
          (this.kept.size ? '' : ': this run kept none (the model was too large to keep them all)') +
          '.',
      );
    }
    return layer;
  }

  /** One GPU solve at a time: slider drags send many requests, and each must see the same prepared buffers. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

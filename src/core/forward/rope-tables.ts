/**
 * The (cos, sin) tables a BlockRunner's calls use, on the GPU, kept while calls use them: a model's layers use one
 * RoPE, or two (Gemma 3's sliding layers their own base); a few are kept, so alternating layers do not rebuild
 * theirs.
 */
import { uploadFloat32 } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { type RopeSpec, ropeTable } from './rope';

export class RopeTables {
  private readonly tables = new Map<string, GPUBuffer>();

  constructor(private readonly ctx: GpuContext) {}

  /**
   * The table of `rope` for seqLen positions from positionOffset; `sequenceLength` is the whole sequence's where a
   * call runs a piece of it (generation).
   */
  get(
    rope: RopeSpec,
    seqLen: number,
    positionOffset: number,
    sequenceLength = positionOffset + seqLen,
  ): GPUBuffer {
    const key = `${seqLen}@${positionOffset}/${sequenceLength} ${JSON.stringify(rope)}`;
    let table = this.tables.get(key);
    if (!table) {
      if (this.tables.size >= 4) this.destroy();
      const values = Float32Array.from(ropeTable(rope, seqLen, positionOffset, sequenceLength));
      table = uploadFloat32(this.ctx, values, 'rope table');
      this.tables.set(key, table);
    }
    return table;
  }

  destroy(): void {
    // Tables are read by work already submitted; WebGPU frees them once it has run.
    for (const table of this.tables.values()) table.destroy();
    this.tables.clear();
  }
}

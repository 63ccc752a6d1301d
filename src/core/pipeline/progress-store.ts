/**
 * Finished blocks of a run, saved as the run goes so that a run interrupted by a lost GPU device, a crash or a
 * reload resumes from the last finished block instead of starting over. A block is saved only once all its linears
 * are pruned; each saved block holds the exact values written to the output and the per-layer results, so a
 * resumed run writes byte-identical output and feeds the next block the same inputs.
 */
import type { ByteSource, SinkFactory } from '../io/bytes';

import { openSafetensorsFile } from '../io/checkpoint';
import { encodeSafetensors } from '../io/safetensors-write';
import type { LayerResult, PruneSettings } from './types';

export interface SavedBlock {
  layers: LayerResult[];
  /** Pruned tensors in the checkpoint's stored layout, as written to the output. */
  tensors: Map<string, Float32Array>;
  /**
   * Calibration sequences per Hessian update in the run that saved it: the running average rounds differently
   * with another chunking, so a resumed run keeps it to stay byte-identical.
   */
  sequencesPerChunk?: number;
  /**
   * Milliseconds the run had taken when this block was saved, over all its sessions: a resumed run counts on from
   * here, so its time is the whole run's, not only the part after the resume.
   */
  elapsedMs?: number;
}

export interface ProgressStore {
  load(block: number): Promise<SavedBlock | undefined>;
  save(block: number, saved: SavedBlock): Promise<void>;
}

export class ProgressMismatchError extends Error {
  constructor(detail: string) {
    super(`The saved progress belongs to a different run (${detail}); starting over is needed.`);
    this.name = 'ProgressMismatchError';
  }
}

/** The settings that change pruned values: a saved block is reused only under the same ones. */
export function progressKey(settings: PruneSettings, modelName: string): string {
  const { method, sparsity, pattern, nsamples, seqlen, blockSize, percdamp, seed, skipLayers } = settings;
  return JSON.stringify({
    modelName,
    method,
    sparsity,
    pattern,
    nsamples,
    seqlen,
    blockSize,
    percdamp,
    seed,
    skipLayers,
  });
}

export function memoryProgressStore(): ProgressStore & { blocks: Map<number, SavedBlock> } {
  const blocks = new Map<number, SavedBlock>();
  return {
    blocks,
    async load(block) {
      return blocks.get(block);
    },
    async save(block, saved) {
      blocks.set(block, { ...saved, tensors: new Map(saved.tensors) });
    },
  };
}

/**
 * A store of one safetensors file per finished block ("block-0007.safetensors"), the layer results in its
 * metadata, written through `sinkFor` (OPFS in the browser, a folder in Node) and read through `sourceFor`.
 */
export function fileProgressStore(
  key: string,
  sinkFor: SinkFactory,
  sourceFor: (path: string) => Promise<ByteSource | undefined>,
): ProgressStore {
  const fileName = (block: number) => `block-${String(block).padStart(4, '0')}.safetensors`;
  return {
    async load(block) {
      const source = await sourceFor(fileName(block));
      if (!source) return undefined;
      const file = await openSafetensorsFile(source);
      if (file.metadata['sparsegpt.progress_key'] !== key) {
        throw new ProgressMismatchError(`block ${block} was pruned with other settings`);
      }
      const layers = JSON.parse(file.metadata['sparsegpt.layers'] ?? '[]') as LayerResult[];
      const tensors = new Map<string, Float32Array>();
      for (const t of file.tensors) tensors.set(t.name, await file.readFloat32(t.name));
      const chunk = Number(file.metadata['sparsegpt.sequences_per_chunk']);
      const elapsed = Number(file.metadata['sparsegpt.elapsed_ms'] || Number.NaN);
      return {
        layers,
        tensors,
        ...(Number.isInteger(chunk) && chunk > 0 ? { sequencesPerChunk: chunk } : {}),
        ...(Number.isFinite(elapsed) && elapsed >= 0 ? { elapsedMs: elapsed } : {}),
      };
    },
    async save(block, saved) {
      const layers = saved.layers.map(({ mask: _mask, ...rest }) => rest);
      const bytes = encodeSafetensors(
        [...saved.tensors].map(([name, data]) => ({
          name,
          dtype: 'F32' as const,
          shape: [data.length],
          data,
        })),
        {
          'sparsegpt.progress_key': key,
          'sparsegpt.layers': JSON.stringify(layers),
          'sparsegpt.sequences_per_chunk': String(saved.sequencesPerChunk ?? ''),
          'sparsegpt.elapsed_ms': String(saved.elapsedMs ?? ''),
        },
      );
      const sink = await sinkFor(fileName(block));
      try {
        await sink.write(bytes);
        await sink.close();
      } catch (error) {
        await sink.abort(error);
        throw error;
      }
    },
  };
}

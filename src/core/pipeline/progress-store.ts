/**
 * Finished blocks of a run, saved as the run goes so that a run interrupted by a lost GPU device, a crash or a
 * reload resumes from the last finished block instead of starting over. A block is saved only once all its linears
 * are pruned; each saved block holds the exact values written to the output and the per-layer results, so a
 * resumed run writes byte-identical output and feeds the next block the same inputs.
 *
 * A saved block is reused only by a run of the same identity: the model's content fingerprint, the calibration
 * text's SHA-256 and the settings that change pruned values. Each block carries a SHA-256 of its contents, checked
 * when it is loaded: a damaged block is reported and pruned again, never used.
 */
import type { ByteSource, SinkFactory } from '../io/bytes';
import { openSafetensorsFile } from '../io/checkpoint';
import { ChainedHash, sha256Hex } from '../io/fingerprint';
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
  /** The saved block, undefined when there is none; throws DamagedProgressError for a block that fails its check. */
  load(block: number): Promise<SavedBlock | undefined>;
  save(block: number, saved: SavedBlock): Promise<void>;
}

export class ProgressMismatchError extends Error {
  constructor(detail: string) {
    super(`The saved progress belongs to a different run (${detail}); starting over is needed.`);
    this.name = 'ProgressMismatchError';
  }
}

/** A saved block that cannot be read or whose checksum does not match: it is pruned again. */
export class DamagedProgressError extends Error {
  constructor(
    readonly block: number,
    detail: string,
  ) {
    super(`Saved block ${block} is damaged (${detail}); it is not used and is pruned again.`);
    this.name = 'DamagedProgressError';
  }
}

/** What a saved block must match to be reused. */
export interface ProgressIdentity {
  /** The model's content fingerprint (ModelSummary.fingerprint). */
  model: string;
  /** SHA-256 of the calibration text. */
  calibration: string;
  /** The settings that change pruned values, as JSON. */
  settings: string;
}

/** The settings that change pruned values: a saved block is reused only under the same ones. */
export function progressSettingsKey(settings: PruneSettings): string {
  const { method, sparsity, pattern, nsamples, seqlen, blockSize, percdamp, seed, skipLayers } = settings;
  const { layerTargets, allocation, owlThreshold, owlLambda } = settings;
  return JSON.stringify({
    method,
    sparsity,
    pattern,
    nsamples,
    seqlen,
    blockSize,
    percdamp,
    seed,
    skipLayers,
    // Only where it is not the default, so that runs saved before the setting existed still resume.
    ...(settings.expertCalibration === 'all' ? { expertCalibration: 'all' } : {}),
    // Only where set, so that saved progress of a uniform run keeps its key.
    ...(layerTargets?.length && { layerTargets }),
    ...(allocation === 'owl' && { allocation, owlThreshold, owlLambda }),
  });
}

export async function progressIdentity(
  settings: PruneSettings,
  modelFingerprint: string,
  calibration: string,
): Promise<ProgressIdentity> {
  return {
    model: modelFingerprint,
    calibration: await sha256Hex(calibration),
    settings: progressSettingsKey(settings),
  };
}

/** In words, how `saved` differs from `current`; empty when they are the same run. */
export function identityDifference(saved: Partial<ProgressIdentity>, current: ProgressIdentity): string {
  if (saved.model !== current.model) return 'another model: its weights, config or tokenizer differ';
  if (saved.calibration !== current.calibration) return 'another calibration text';
  if (saved.settings !== current.settings) return `other settings (${saved.settings ?? 'none recorded'})`;
  return '';
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

const KEYS = {
  model: 'sparsegpt.progress_model',
  calibration: 'sparsegpt.progress_calibration',
  settings: 'sparsegpt.progress_settings',
  layers: 'sparsegpt.layers',
  chunk: 'sparsegpt.sequences_per_chunk',
  elapsed: 'sparsegpt.elapsed_ms',
  checksum: 'sparsegpt.checksum',
};

/**
 * SHA-256 over the store's own metadata keys (all but the checksum, in key order) and the tensors (by name). Only
 * the store's keys: the safetensors writer adds its own ("format": "pt"), which must not count.
 */
async function blockChecksum(
  metadata: Record<string, string>,
  tensors: { name: string; bytes: Uint8Array }[],
): Promise<string> {
  const hash = new ChainedHash();
  for (const key of Object.values(KEYS).sort()) {
    if (key !== KEYS.checksum) await hash.field(`${key}=${metadata[key] ?? ''}`);
  }
  for (const { name, bytes } of [...tensors].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  )) {
    await hash.field(`${name} ${bytes.byteLength}`);
    await hash.add(bytes);
  }
  return hash.hex();
}

export const progressBlockFile = (block: number) => `block-${String(block).padStart(4, '0')}.safetensors`;

/**
 * A store of one safetensors file per finished block ("block-0007.safetensors"), the layer results, the run's
 * identity and a checksum in its metadata, written through `sinkFor` (OPFS in the browser, a folder in Node) and
 * read through `sourceFor`.
 */
export function fileProgressStore(
  identity: ProgressIdentity,
  sinkFor: SinkFactory,
  sourceFor: (path: string) => Promise<ByteSource | undefined>,
): ProgressStore {
  return {
    async load(block) {
      const source = await sourceFor(progressBlockFile(block));
      if (!source) return undefined;
      let file: Awaited<ReturnType<typeof openSafetensorsFile>>;
      try {
        file = await openSafetensorsFile(source);
      } catch (error) {
        throw new DamagedProgressError(block, error instanceof Error ? error.message : String(error));
      }
      const { metadata } = file;
      const tensors: { name: string; bytes: Uint8Array }[] = [];
      for (const t of file.tensors) {
        if (t.dtype !== 'F32') throw new DamagedProgressError(block, `tensor ${t.name} is not F32`);
        tensors.push({ name: t.name, bytes: await file.readBytes(t.name) });
      }
      if (metadata[KEYS.checksum] !== (await blockChecksum(metadata, tensors))) {
        throw new DamagedProgressError(block, 'its checksum does not match its contents');
      }
      const difference = identityDifference(
        {
          model: metadata[KEYS.model],
          calibration: metadata[KEYS.calibration],
          settings: metadata[KEYS.settings],
        },
        identity,
      );
      if (difference) throw new ProgressMismatchError(`block ${block} was saved for ${difference}`);
      let layers: LayerResult[];
      try {
        layers = JSON.parse(metadata[KEYS.layers] ?? '[]') as LayerResult[];
      } catch {
        throw new DamagedProgressError(block, 'its layer results are not valid JSON');
      }
      const chunk = Number(metadata[KEYS.chunk]);
      const elapsed = Number(metadata[KEYS.elapsed] || Number.NaN);
      return {
        layers,
        tensors: new Map(tensors.map(({ name, bytes }) => [name, new Float32Array(bytes.slice().buffer)])),
        ...(Number.isInteger(chunk) && chunk > 0 ? { sequencesPerChunk: chunk } : {}),
        ...(Number.isFinite(elapsed) && elapsed >= 0 ? { elapsedMs: elapsed } : {}),
      };
    },
    async save(block, saved) {
      const layers = saved.layers.map(({ mask: _mask, ...rest }) => rest);
      const metadata: Record<string, string> = {
        [KEYS.model]: identity.model,
        [KEYS.calibration]: identity.calibration,
        [KEYS.settings]: identity.settings,
        [KEYS.layers]: JSON.stringify(layers),
        [KEYS.chunk]: String(saved.sequencesPerChunk ?? ''),
        [KEYS.elapsed]: String(saved.elapsedMs ?? ''),
      };
      const tensors = [...saved.tensors].map(([name, data]) => ({ name, data }));
      metadata[KEYS.checksum] = await blockChecksum(
        metadata,
        tensors.map(({ name, data }) => ({
          name,
          bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        })),
      );
      const bytes = encodeSafetensors(
        tensors.map(({ name, data }) => ({ name, dtype: 'F32' as const, shape: [data.length], data })),
        metadata,
      );
      const sink = await sinkFor(progressBlockFile(block));
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

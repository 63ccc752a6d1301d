import { describe, expect, it } from 'vitest';
import { blobByteSource, memoryByteSink } from '../io/bytes';
import { fileProgressStore, ProgressMismatchError } from './progress-store';

function memoryFiles() {
  const files = new Map<string, ReturnType<typeof memoryByteSink>>();
  return {
    sinkFor: async (path: string) => {
      const sink = memoryByteSink();
      files.set(path, sink);
      return sink;
    },
    sourceFor: async (path: string) => {
      const sink = files.get(path);
      return sink ? blobByteSource(new Blob([sink.bytes() as Uint8Array<ArrayBuffer>]), path) : undefined;
    },
  };
}

const IDENTITY = { model: 'sha256:model', calibration: 'sha256:text', settings: '{}' };

describe('saved blocks of a run', () => {
  it('keep their values, layer results and the time the run had taken, for a resumed run to count on', async () => {
    const files = memoryFiles();
    const store = fileProgressStore(IDENTITY, files.sinkFor, files.sourceFor);
    const layer = {
      block: 0,
      name: 'mlp.up_proj',
      tensor: 'model.layers.0.mlp.up_proj.weight',
      rows: 2,
      cols: 2,
      method: 'sparsegpt' as const,
      sparsity: 0.5,
      relativeError: 0.01,
      ms: 3,
    };
    await store.save(0, {
      layers: [layer],
      tensors: new Map([[layer.tensor, new Float32Array([1, 0, 0, 2])]]),
      sequencesPerChunk: 4,
      elapsedMs: 3_600_000.5,
    });
    const loaded = await store.load(0);
    expect(loaded?.elapsedMs).toBe(3_600_000.5);
    expect(loaded?.sequencesPerChunk).toBe(4);
    expect(loaded?.layers).toEqual([layer]);
    expect(loaded?.tensors.get(layer.tensor)).toEqual(new Float32Array([1, 0, 0, 2]));
    expect(await store.load(1)).toBeUndefined();
    await expect(
      fileProgressStore({ ...IDENTITY, settings: '{"other":true}' }, files.sinkFor, files.sourceFor).load(0),
    ).rejects.toBeInstanceOf(ProgressMismatchError);
  });
});

/**
 * The layer explorer saved with a run and loaded again (after a reload, on a new GPU device) answers exactly as it
 * did: the same re-pruned error, zeros and mask for every method and pattern.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useGpu } from '../../../test/gpu';
import { openFolder } from '../../node/files';
import { blobByteSource, memoryByteSink } from '../io/bytes';
import { loadExplorer, saveExplorer } from './explorer-file';
import { openModel } from './open-model';
import { pruneModel } from './prune-model';
import { DEFAULT_SETTINGS, type PruneSettings } from './types';

const demo = new URL('../../../public/demo/stories260K/', import.meta.url);
const calibration = readFileSync(new URL('calibration.txt', demo), 'utf8');
const settings: PruneSettings = { ...DEFAULT_SETTINGS, nsamples: 2, seqlen: 32 };

describe('a saved layer explorer', () => {
  // The run's device, and a second one standing for the page after a reload.
  const runDevice = useGpu();
  const laterDevice = useGpu();
  it('answers after loading on a new device exactly as before saving', async () => {
    const model = (await openModel(await openFolder(new URL('.', demo).pathname))).model;
    const { explorer } = await pruneModel(
      await runDevice(),
      model,
      settings,
      { calibration },
      { keepForExplorer: true },
    );
    if (!explorer) throw new Error('the run kept no explorer');
    const files = new Map<string, ReturnType<typeof memoryByteSink>>();
    await saveExplorer(explorer, async (path) => {
      const sink = memoryByteSink();
      files.set(path, sink);
      return sink;
    });
    expect(files.size).toBeGreaterThan(0);
    const probes = [
      {
        tensor: explorer.layers[3].tensor,
        method: 'sparsegpt' as const,
        sparsity: 0.7,
        pattern: 'unstructured' as const,
      },
      {
        tensor: explorer.layers.at(-1)?.tensor as string,
        method: 'wanda' as const,
        sparsity: 0.5,
        pattern: { n: 2, m: 4 },
      },
    ];
    const before = [];
    for (const { tensor, ...options } of probes) before.push(await explorer.probe(tensor, options));
    const curveBefore = await explorer.curve(probes[0].tensor, [0.4]);
    const layers = explorer.layers;
    explorer.destroy();

    const loaded = await loadExplorer(await laterDevice(), async (path) => {
      const sink = files.get(path);
      return sink ? blobByteSource(new Blob([sink.bytes() as Uint8Array<ArrayBuffer>]), path) : undefined;
    });
    if (!loaded) throw new Error('nothing was loaded');
    expect(loaded.layers).toHaveLength(35);
    expect(loaded.layers).toEqual(layers);
    for (const [i, { tensor, ...options }] of probes.entries()) {
      expect(await loaded.probe(tensor, options)).toEqual(before[i]);
    }
    expect(await loaded.curve(probes[0].tensor, [0.4])).toEqual(curveBefore);
    loaded.destroy();
    expect(await loadExplorer(await laterDevice(), async () => undefined)).toBeUndefined();
  }, 240_000);
});

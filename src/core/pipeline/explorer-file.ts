/**
 * A run's layer explorer on disk, so that the explorer comes back after a reload: one safetensors file per input
 * group ("group-0000.safetensors"), holding the group's Hessian ("H") and each linear's dense weight ("W.<tensor>"),
 * with the group's shape and dampening in the metadata. Written through `sinkFor` (OPFS in the browser) and read
 * through `sourceFor`.
 */

import type { GpuContext } from '../gpu/context';
import type { ByteSource, SinkFactory } from '../io/bytes';
import { openSafetensorsFile } from '../io/checkpoint';
import { writeSafetensors } from '../io/safetensors-write';
import { type ExplorerGroup, LayerExplorer } from './explorer';
import type { PrunableLinear } from './types';

interface GroupMeta {
  version: 1;
  blockSize: number;
  columns: number;
  tokens: number;
  percdamp: number;
  layers: PrunableLinear[];
}

const META_KEY = 'sparsegpt.explorer';

const fileName = (index: number) => `group-${String(index).padStart(4, '0')}.safetensors`;

export async function saveExplorer(explorer: LayerExplorer, sinkFor: SinkFactory): Promise<void> {
  const groups = await explorer.groups();
  for (const [index, group] of groups.entries()) {
    const meta: GroupMeta = {
      version: 1,
      blockSize: explorer.blockSize,
      columns: group.columns,
      tokens: group.tokens,
      percdamp: group.percdamp,
      layers: group.layers.map((l) => l.linear),
    };
    const tensors = [
      { name: 'H', dtype: 'F32' as const, shape: [group.columns, group.columns], data: group.H },
      ...group.layers.map(({ linear, W }) => ({
        name: `W.${linear.tensor}`,
        dtype: 'F32' as const,
        shape: [linear.rows, linear.cols],
        data: W,
      })),
    ];
    await writeSafetensors(await sinkFor(fileName(index)), tensors, { [META_KEY]: JSON.stringify(meta) });
  }
}

/** The saved explorer, prepared on `ctx`; undefined when none was saved. */
export async function loadExplorer(
  ctx: GpuContext,
  sourceFor: (path: string) => Promise<ByteSource | undefined>,
): Promise<LayerExplorer | undefined> {
  const groups: ExplorerGroup[] = [];
  let blockSize: number | undefined;
  for (let index = 0; ; index++) {
    const source = await sourceFor(fileName(index));
    if (!source) break;
    const file = await openSafetensorsFile(source);
    const meta = JSON.parse(file.metadata[META_KEY] ?? 'null') as GroupMeta | null;
    if (meta?.version !== 1) throw new Error(`${fileName(index)} is not a saved layer explorer`);
    blockSize = meta.blockSize;
    const layers = [];
    for (const linear of meta.layers)
      layers.push({ linear, W: await file.readFloat32(`W.${linear.tensor}`) });
    groups.push({
      columns: meta.columns,
      tokens: meta.tokens,
      percdamp: meta.percdamp,
      H: await file.readFloat32('H'),
      layers,
    });
  }
  if (blockSize === undefined) return undefined;
  return LayerExplorer.restore(ctx, blockSize, groups);
}

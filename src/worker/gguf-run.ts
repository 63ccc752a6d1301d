/**
 * A run whose output is one GGUF file (settings.format 'gguf'), in the worker: the same pipeline, its solved linears
 * kept in a spill file in the run's OPFS folder with the solver's scale words, then one GGUF written from them and
 * the input's other tensors (src/core/gguf/run-output.ts, as the CLI does), checked and renamed. The spill goes
 * whatever happens; a failed or stopped write leaves no file.
 */

import { removeRunFolder, runDirectory } from '../browser/opfs';
import { GGUF_OUTPUT_FILE, writeGgufIntoFolder } from '../browser/opfs-gguf';
import { createOpfsTensorSpill } from '../browser/opfs-spill';
import type { GgufExportPlan } from '../core/gguf/export';
import { SolvedLinears } from '../core/gguf/run-output';
import type { GpuContext } from '../core/gpu/context';
import type { OpenedModel } from '../core/pipeline/open-model';
import {
  type PruneModelOptions,
  type PruneModelResult,
  type PruneTexts,
  pruneModel,
} from '../core/pipeline/prune-model';
import type { PruneSettings } from '../core/pipeline/types';

const SPILL_FILE = '.solved-linears.spill';

export async function pruneIntoGguf(
  ctx: GpuContext,
  model: OpenedModel,
  settings: PruneSettings,
  texts: PruneTexts,
  run: { plan: GgufExportPlan; outputFolder: string; options: PruneModelOptions },
): Promise<PruneModelResult> {
  const { plan, outputFolder, options } = run;
  await removeRunFolder(outputFolder);
  const directory = await runDirectory(outputFolder, true);
  const spill = await createOpfsTensorSpill(directory, SPILL_FILE);
  try {
    const solved = new SolvedLinears(spill, (tensor) => model.checkpoint.tensor(tensor).shape[0]);
    const pruned = await pruneModel(ctx, model, settings, texts, { ...options, onSolved: solved.keep });
    options.onEvent?.({ type: 'stage', stage: 'writing', message: `Writing ${GGUF_OUTPUT_FILE}` });
    try {
      await writeGgufIntoFolder(directory, GGUF_OUTPUT_FILE, solved.planWith(plan), options.signal);
    } catch (error) {
      pruned.explorer?.destroy();
      throw error;
    }
    return { ...pruned, result: { ...pruned.result, outputFiles: [GGUF_OUTPUT_FILE] } };
  } finally {
    await spill.remove();
  }
}

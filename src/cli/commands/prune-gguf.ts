/**
 * `sparsegpt prune … --format gguf --out FILE.gguf`: the pipeline's pruned (and quantized) linears go to a
 * temporary spill file as each block finishes, with the scale words the solver chose; once every block is done,
 * one GGUF is written from the input folder's other tensors and those linears (stored under the solver's scales,
 * never rounded again; the rest rounded by llama.cpp's recipe), checked, and renamed. Nothing is left behind on
 * failure or interruption. Resuming is for the folder output only: a GGUF run is short and keeps no progress.
 */
import { basename } from 'node:path';
import { formatBytes, formatFileSize } from '../../core/format-bytes';
import { planRunGguf, SolvedLinears } from '../../core/gguf/run-output';
import type { OpenedModel } from '../../core/pipeline/open-model';
import { type PruneTexts, pruneModel } from '../../core/pipeline/prune-model';
import { CancelledError } from '../../core/pipeline/types';
import { type PruneSettings, quantizationLabel } from '../../core/settings/prune-settings';
import { createNodeGpuContext } from '../../node/gpu';
import { createTensorSpillFile } from '../../node/tensor-spill-file';
import { UsageError } from '../command';
import { createEventPrinter } from '../event-printer';
import { besideTarget, checkGgufTarget, countTypes, writeGgufFile } from '../gguf-file';
import { interruptible } from '../interrupt';
import { writeJsonFile } from '../json-output';

export interface PruneToGguf {
  model: OpenedModel;
  settings: PruneSettings;
  texts: PruneTexts;
  out: string;
  force: boolean;
  resume: boolean;
  quiet: boolean;
  jsonPath?: string;
}

export async function pruneToGguf(run: PruneToGguf): Promise<number> {
  const { model, settings, out } = run;
  if (run.resume) {
    throw new UsageError(
      '--resume works with the safetensors folder output only (a GGUF run keeps no progress)',
    );
  }
  const target = await checkGgufTarget(out, run.force);
  // Checked before any work: a family llama.cpp cannot run, quantized input, a type no weight fits.
  const plan = await planRunGguf(model.folder, settings);
  for (const warning of plan.warnings) console.error(`warning: ${warning}`);
  const printer = createEventPrinter(process.stdout, process.stderr, run.quiet);
  const stop = interruptible();
  const spill = await createTensorSpillFile(besideTarget(target, 'weights'));
  const solved = new SolvedLinears(spill, (tensor) => model.checkpoint.tensor(tensor).shape[0]);
  let ctx: Awaited<ReturnType<typeof createNodeGpuContext>> | undefined;
  try {
    ctx = await createNodeGpuContext();
    console.error(
      `${model.summary.name}: ${model.summary.modelType}, ${model.summary.layers} blocks, ` +
        `${model.summary.prunable.length} linears, ${quantizationLabel(settings)} → ${basename(out)}, on ${ctx.adapter.name}`,
    );
    const { result } = await pruneModel(ctx, model, settings, run.texts, {
      onEvent: printer.onEvent,
      signal: stop.signal,
      onSolved: solved.keep,
    });
    printer.finish();
    if (stop.signal.aborted) throw new CancelledError();
    console.error(`Writing ${out} (${countTypes(plan.tensors.map((t) => t.type))})`);
    await writeGgufFile(solved.planWith(plan), target, out, stop.signal);
    const size = plan.layout.fileBytes;
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    console.error(
      `peak memory: GPU buffers ${formatBytes(result.peakGpuBytes ?? 0)}, process RSS ${formatBytes(peakRssBytes)}`,
    );
    if (run.jsonPath !== undefined) {
      await writeJsonFile(run.jsonPath, {
        ...result,
        outputFiles: [out],
        fileBytes: size,
        inputBytes: plan.inputBytes,
        peakRssBytes,
      });
    }
    console.log(
      `overall sparsity ${(result.overallSparsity * 100).toFixed(2)}% over ${result.layers.filter((l) => !l.skipped).length} linears, ` +
        `${(result.totalMs / 1000).toFixed(1)} s; wrote ${out}: ${formatFileSize(size)} (input weights ` +
        `${formatFileSize(plan.inputBytes)}, ${(plan.inputBytes / size).toFixed(2)}× smaller)`,
    );
    return 0;
  } catch (error) {
    printer.finish();
    if (stop.reason) {
      console.error(`stopped (${stop.reason}): nothing was written to ${out}`);
      return stop.exitCode;
    }
    throw error;
  } finally {
    stop.dispose();
    ctx?.destroy();
    await spill.remove();
  }
}

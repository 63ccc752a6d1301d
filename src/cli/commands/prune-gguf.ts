/**
 * `sparsegpt prune … --format gguf --out FILE.gguf`: the pipeline's pruned (and quantized) linears go to a
 * temporary spill file as each block finishes, with the scale words the solver chose; once every block is done,
 * one GGUF is written from the input folder's other tensors and those linears (stored under the solver's scales,
 * never rounded again; the rest rounded by llama.cpp's recipe), checked, and renamed. Nothing is left behind on
 * failure or interruption. Resuming is for the folder output only: a GGUF run is short and keeps no progress.
 */
import { basename } from 'node:path';
import { formatBytes, formatFileSize } from '../../core/format-bytes';
import { planGgufExport, type SolvedTensor, withSolvedWeights } from '../../core/gguf/export';
import type { GgufFileType } from '../../core/gguf/recipe';
import type { OpenedModel } from '../../core/pipeline/open-model';
import { type PruneTexts, pruneModel } from '../../core/pipeline/prune-model';
import { CancelledError } from '../../core/pipeline/types';
import { type PruneSettings, patternLabel, quantizationLabel } from '../../core/settings/prune-settings';
import { createNodeGpuContext } from '../../node/gpu';
import { TensorSpillFile } from '../../node/tensor-spill-file';
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

/** The GGUF file type of the settings' quantization (F32 without one). */
export function ggufFileType(settings: PruneSettings): GgufFileType {
  return settings.quantization === 'none' ? 'f32' : settings.quantization;
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
  const provenance = {
    method: settings.method,
    sparsity: String(
      settings.pattern === 'unstructured' ? settings.sparsity : settings.pattern.n / settings.pattern.m,
    ),
    pattern:
      settings.pattern === 'unstructured'
        ? 'unstructured'
        : patternLabel(settings.pattern, settings.sparsity),
    quantization: quantizationLabel(settings),
    calibration: `${settings.nsamples}x${settings.seqlen} tokens, seed ${settings.seed}`,
    block_size: String(settings.blockSize),
    percdamp: String(settings.percdamp),
  };
  const plan = await planGgufExport(model.folder, ggufFileType(settings), provenance);
  for (const warning of plan.warnings) console.error(`warning: ${warning}`);
  const printer = createEventPrinter(process.stdout, process.stderr, run.quiet);
  const stop = interruptible();
  const spill = await TensorSpillFile.create(besideTarget(target, 'weights'));
  const solved = new Map<string, SolvedTensor>();
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
      onSolved: async (tensor, values, quantization) => {
        await spill.put(tensor, values, model.checkpoint.tensor(tensor).shape[0]);
        if (quantization) solved.set(tensor, quantization);
      },
    });
    printer.finish();
    if (stop.signal.aborted) throw new CancelledError();
    const read = (name: string, rows?: { start: number; end: number }) =>
      spill.has(name) ? spill.read(name, rows) : plan.read(name, rows);
    console.error(`Writing ${out} (${countTypes(plan.tensors.map((t) => t.type))})`);
    await writeGgufFile(withSolvedWeights(plan, read, solved), target, out);
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

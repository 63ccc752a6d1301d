/// <reference lib="webworker" />
/**
 * The worker that owns the GPU. It holds the open model, runs the pipeline, writes the output into OPFS and keeps
 * the last run's explorer. Everything it offers is in api.ts; the page reaches it through client.ts.
 */
import * as Comlink from 'comlink';
import { folderFromDirectoryHandle } from '../browser/files';
import { opfsSinkFactory, removeProgressFolder, removeRunFolder, runDirectory } from '../browser/opfs';
import { planRunGguf } from '../core/gguf/run-output';
import { folderFromBlobs } from '../core/io/folder';
import { measureCalibration, measureEvaluation } from '../core/pipeline/open-model';
import { progressIdentity } from '../core/pipeline/progress-store';
import { DeviceLostError, pruneModel } from '../core/pipeline/prune-model';
import { verifyPrunedOutput } from '../core/pipeline/verify-output';
import type {
  CalibrationMeasureReply,
  EvaluationMeasureReply,
  GenerateEvent,
  GpuReport,
  ModelFileInput,
  PrunerApi,
  RunEventSink,
  RunReply,
  RunRequest,
} from './api';
import { createEventBatcher } from './event-batcher';
import { loadRunExplorer, saveRunExplorer } from './explorer-storage';
import { generateSideBySide, lossesSideBySide } from './generate-job';
import { pruneIntoGguf } from './gguf-run';
import { gpuContext, openedGpuContext } from './gpu-context';
import { opfsProgressStore } from './opfs-progress-store';
import { closeModel, currentExplorer, currentModel, openModelFolder, replaceExplorer } from './session';

const runs = new Map<string, AbortController>();

/** A run whose device is lost resumes on a new one this many times before it gives up. */
const DEVICE_LOSS_RETRIES = 2;

function isDeviceLost(error: unknown): error is DeviceLostError {
  return error instanceof DeviceLostError;
}

function deviceLossNotice(error: DeviceLostError, attempt: number, saved: boolean): string {
  const from =
    saved && error.completedBlocks > 0 ? `resuming from block ${error.completedBlocks + 1}` : 'starting over';
  return (
    `The GPU device was lost (${error.reason.replace(/\.$/, '') || 'no reason given'}); ${from} on a new device ` +
    `(attempt ${attempt + 2} of ${DEVICE_LOSS_RETRIES + 1}).`
  );
}

const api: PrunerApi = {
  async probeGpu(): Promise<GpuReport> {
    try {
      const ctx = await gpuContext();
      const inWorker = typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope;
      return { ok: true, adapter: ctx.adapter, limits: ctx.limits, features: ctx.features, inWorker };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  },

  async openModel(name: string, files: ModelFileInput[]) {
    closeModel();
    const folder = folderFromBlobs(
      files.map(({ path, file }) => [path, file]),
      name || undefined,
    );
    return (await openModelFolder(folder)).summary;
  },

  async measureCalibration(text, request): Promise<CalibrationMeasureReply> {
    const { model } = await currentModel();
    const measured = await measureCalibration(model, text, request);
    return {
      textTokens: measured.textTokens,
      nsamples: measured.nsamples,
      seqlen: measured.seqlen,
      notes: measured.notes,
    };
  },

  async measureEvaluation(text, { seqlen, maxWindows }): Promise<EvaluationMeasureReply> {
    const { model } = await currentModel();
    const measured = measureEvaluation(model, text, { seqlen, maxWindows });
    return {
      textTokens: measured.textTokens,
      windows: measured.windows,
      seqlen: measured.seqlen,
      notes: measured.notes,
    };
  },

  async prune(request: RunRequest, onEvents: RunEventSink): Promise<RunReply> {
    const { runId, settings, calibration, evaluation, outputFolder, progressFolder } = request;
    const { model, summary } = await currentModel();
    // One GGUF file: planned before any work, so that what cannot be written is said first.
    const plan =
      settings.format === 'gguf' && outputFolder !== undefined
        ? await planRunGguf(model.folder, settings)
        : undefined;
    // A new run replaces the last one's kept factors: GPU memory goes to the run.
    replaceExplorer(undefined);
    const controller = new AbortController();
    runs.set(runId, controller);
    const events = createEventBatcher((batch) => onEvents(runId, batch));
    try {
      // A GGUF run keeps no progress: a replayed block has lost the solver's scale words the file is written with.
      const progress =
        progressFolder && !plan
          ? await opfsProgressStore(
              progressFolder,
              await progressIdentity(settings, summary.fingerprint, calibration),
            )
          : undefined;
      const texts = { calibration, evaluation: evaluation || undefined };
      for (let attempt = 0; ; attempt++) {
        const ctx = await gpuContext();
        const options = {
          onEvent: events.push,
          signal: controller.signal,
          keepForExplorer: outputFolder !== undefined,
          progress,
        };
        try {
          // Each attempt writes the output from the start; the blocks finished before a loss are replayed.
          const { result, explorer } =
            plan && outputFolder !== undefined
              ? await pruneIntoGguf(ctx, model, settings, texts, { plan, outputFolder, options })
              : await pruneModel(ctx, model, settings, texts, {
                  ...options,
                  ...(outputFolder !== undefined && {
                    output: { sinkFor: await opfsSinkFactory(outputFolder) },
                  }),
                });
          if (outputFolder !== undefined && !plan) {
            // The UI says "done" only for output that reads back whole and as reported.
            events.push({ type: 'stage', stage: 'verifying', message: 'Verifying the written model' });
            const written = await folderFromDirectoryHandle(await runDirectory(outputFolder, false));
            await verifyPrunedOutput(model.checkpoint, written, result.layers);
          }
          replaceExplorer(explorer);
          if (explorer) await saveRunExplorer(runId, explorer);
          if (progressFolder) await removeProgressFolder(progressFolder).catch(() => undefined);
          // An attempt after a lost device (or a reload) replays the finished blocks, whose saved time the
          // pipeline counts on from: totalMs is the whole run's.
          return {
            result: { ...result, inputBytes: summary.weightBytes },
            explorerLayers: explorer?.layers ?? [],
          };
        } catch (error) {
          const retry = isDeviceLost(error) && attempt < DEVICE_LOSS_RETRIES;
          if (!retry || controller.signal.aborted) throw error;
          events.push({ type: 'warning', message: deviceLossNotice(error, attempt, progress !== undefined) });
        }
      }
    } catch (error) {
      if (outputFolder !== undefined) await removeRunFolder(outputFolder).catch(() => undefined);
      // Progress outlives only a lost device (it can be resumed later); any other end makes it useless.
      if (progressFolder && !isDeviceLost(error)) {
        await removeProgressFolder(progressFolder).catch(() => undefined);
      }
      throw error;
    } finally {
      events.flush();
      runs.delete(runId);
    }
  },

  async generate(request, onEvents) {
    const { model } = await currentModel();
    const controller = new AbortController();
    runs.set(request.runId, controller);
    const events = createEventBatcher<GenerateEvent>((batch) => onEvents(request.runId, batch));
    try {
      return await generateSideBySide(await gpuContext(), model, request, events, controller.signal);
    } finally {
      events.flush();
      runs.delete(request.runId);
    }
  },

  async tokenLosses(request) {
    return lossesSideBySide(await gpuContext(), (await currentModel()).model, request);
  },

  async cancel(runId: string) {
    runs.get(runId)?.abort();
  },

  async probeLayer({ tensor, method, sparsity, pattern }) {
    const probe = await currentExplorer().probe(tensor, { method, sparsity, pattern });
    return { sparsity: probe.sparsity, relativeError: probe.relativeError, mask: probe.mask };
  },

  async errorCurve(tensor: string, sparsities: number[]) {
    return currentExplorer().curve(tensor, sparsities);
  },

  async closeExplorer() {
    replaceExplorer(undefined);
  },

  async reopenExplorer(runId: string) {
    const explorer = await loadRunExplorer(await gpuContext(), runId);
    replaceExplorer(explorer);
    return explorer?.layers ?? [];
  },

  async debugLoseDevice() {
    const opened = openedGpuContext();
    if (!opened) return false;
    const ctx = await opened;
    ctx.device.destroy();
    await ctx.lost;
    return true;
  },
};

Comlink.expose(api);

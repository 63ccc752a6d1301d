/// <reference lib="webworker" />
/**
 * The worker that owns the GPU. It holds the open model, runs the pipeline, writes the output into OPFS and keeps
 * the last run's explorer. Everything it offers is in api.ts; the page reaches it through client.ts.
 */
import * as Comlink from 'comlink';
import { folderFromBlobs } from '../core/io/folder';
import type {
  CalibrationMeasureReply,
  EvaluationMeasureReply,
  GpuReport,
  ModelFileInput,
  PrunerApi,
  RunEventSink,
  RunReply,
  RunRequest,
} from './api';
import { createEventBatcher } from './event-batcher';
import { gpuContext } from './gpu-context';
import { opfsSinkFactory, removeRunFolder } from './opfs';
import { measureCalibration, pruneModel } from './pipeline';
import { closeModel, currentExplorer, currentModel, openModelFolder, replaceExplorer } from './session';

const runs = new Map<string, AbortController>();

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
    // One sample of the whole window length tells the token count; windows follow the perplexity protocol.
    const measured = await measureCalibration(model, text, { nsamples: 1, seqlen });
    const length = Math.min(seqlen, measured.textTokens);
    const whole = length > 0 ? Math.floor(measured.textTokens / length) : 0;
    const windows = maxWindows === undefined ? whole : Math.min(whole, maxWindows);
    const notes =
      maxWindows !== undefined && whole > maxWindows
        ? [`Scores the first ${maxWindows} of ${whole} windows.`]
        : [];
    return { textTokens: measured.textTokens, windows, seqlen: length, notes };
  },

  async prune(request: RunRequest, onEvents: RunEventSink): Promise<RunReply> {
    const { runId, settings, calibration, evaluation, outputFolder } = request;
    const [ctx, { model }] = await Promise.all([gpuContext(), currentModel()]);
    // A new run replaces the last one's kept factors: GPU memory goes to the run.
    replaceExplorer(undefined);
    const controller = new AbortController();
    runs.set(runId, controller);
    const events = createEventBatcher((batch) => onEvents(runId, batch));
    const sinkFor = await opfsSinkFactory(outputFolder);
    try {
      const { result, explorer } = await pruneModel(
        ctx,
        model,
        settings,
        { calibration, evaluation: evaluation || undefined },
        { output: { sinkFor }, onEvent: events.push, signal: controller.signal, keepForExplorer: true },
      );
      replaceExplorer(explorer);
      return { result, explorerLayers: explorer?.layers ?? [] };
    } catch (error) {
      await removeRunFolder(outputFolder).catch(() => undefined);
      throw error;
    } finally {
      events.flush();
      runs.delete(runId);
    }
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
};

Comlink.expose(api);

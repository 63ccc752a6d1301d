/**
 * The one typed interface between the UI and the worker that owns the GPU. The UI imports only types from
 * here and talks through src/worker/client.ts; everything behind it runs in src/worker/pruner.worker.ts.
 * Errors thrown in the worker arrive as Errors with the same name and message.
 */
import type { AdapterSummary, GpuFeatures, GpuLimits } from '../core/gpu/context';
import type {
  MaskPreview,
  ModelSummary,
  PrunableLinear,
  PruneEvent,
  PruneMethod,
  PruneSettings,
  RunResult,
  SparsityPattern,
} from '../core/pipeline/types';

export type GpuReport =
  | { ok: true; adapter: AdapterSummary; limits: GpuLimits; features: GpuFeatures; inWorker: boolean }
  | { ok: false; error: string };

/** One file of a model folder: its path inside the folder ("config.json", "sub/x.safetensors") and its bytes. */
export interface ModelFileInput {
  path: string;
  /** A File from a drop or picker (disk-backed, never read whole), or a Blob of a fetched demo file. */
  file: Blob;
}

export interface CalibrationMeasureReply {
  textTokens: number;
  nsamples: number;
  seqlen: number;
  notes: string[];
}

export interface EvaluationMeasureReply {
  textTokens: number;
  windows: number;
  seqlen: number;
  notes: string[];
}

export interface RunRequest {
  runId: string;
  settings: PruneSettings;
  calibration: string;
  evaluation?: string;
  /** Folder in the origin private file system (under "runs/") the pruned model is written into. */
  outputFolder: string;
  /**
   * Folder (under "progress/") where finished blocks are saved as the run goes, and replayed from when it already
   * holds some: a run resumed after a reload names the folder of the run it continues. Removed when the run
   * succeeds or is cancelled; kept when the GPU device is lost beyond the retries, for a later resume.
   */
  progressFolder?: string;
}

export interface RunReply {
  result: RunResult;
  /** Layers the explorer can re-prune (empty when the pipeline kept no factors). */
  explorerLayers: PrunableLinear[];
}

export interface LayerProbeRequest {
  tensor: string;
  method: PruneMethod;
  sparsity: number;
  pattern: SparsityPattern;
}

export interface LayerProbeReply {
  sparsity: number;
  relativeError: number;
  mask: MaskPreview;
}

export interface CurvePoint {
  sparsity: number;
  sparsegpt: number;
  wanda: number;
  magnitude: number;
}

/** Pipeline events for one run, delivered in order. A comlink proxy of this crosses into the worker. */
export type RunEventSink = (runId: string, events: PruneEvent[]) => void;

export interface PrunerApi {
  /** Opens (or reuses) the worker's GPU device and describes it. Never throws: failures come back as text. */
  probeGpu(): Promise<GpuReport>;
  /** Reads the model's config, tokenizer and checkpoint headers (not its weights) and describes it. */
  openModel(name: string, files: ModelFileInput[]): Promise<ModelSummary>;
  /** Tokenizes a calibration text with the open model's tokenizer and says what samples it gives. */
  measureCalibration(
    text: string,
    request: { nsamples: number; seqlen: number },
  ): Promise<CalibrationMeasureReply>;
  measureEvaluation(
    text: string,
    request: { seqlen: number; maxWindows?: number },
  ): Promise<EvaluationMeasureReply>;
  /** Prunes the open model, streaming the output into the origin private file system as it goes. */
  prune(request: RunRequest, onEvents: RunEventSink): Promise<RunReply>;
  /** Asks the run to stop; it does within one layer, and `prune` then rejects with a CancelledError. */
  cancel(runId: string): Promise<void>;
  /** Re-prunes one layer of the last run from its kept Hessian factor, for the explorer. */
  probeLayer(request: LayerProbeRequest): Promise<LayerProbeReply>;
  errorCurve(tensor: string, sparsities: number[]): Promise<CurvePoint[]>;
  /** Frees the last run's kept factors. */
  closeExplorer(): Promise<void>;
  /**
   * Test-only: destroys the worker's current GPU device, as a driver reset would, so that the end-to-end tests can
   * prove a run resumes on a new device. Resolves false when no device was open. Reachable from the page only when
   * it was opened with ?test-hooks.
   */
  debugLoseDevice(): Promise<boolean>;
}

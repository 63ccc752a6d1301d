/**
 * The one typed interface between the UI and the worker that owns the GPU: each method is written once, here, with
 * how the client schedules it (CALL_POLICY). The client (src/worker/client.ts) is derived from both, so a new
 * method is added here and in the worker (src/worker/pruner.worker.ts), nowhere else. The UI imports only types
 * and the client from src/worker/. Errors thrown in the worker arrive as Errors with the same name and message.
 */
import type { TokenLosses } from '../core/eval/token-losses';
import type { GenerationStats } from '../core/generate/generate';
import type { SamplingSettings } from '../core/generate/sampling';
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
  /**
   * Folder in the origin private file system (under "runs/") the pruned model is written into; absent for a run
   * measured only (a sweep's point), which writes no model and keeps no explorer.
   */
  outputFolder?: string;
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

/** Dense and pruned continuations of one prompt: the open model and a run's pruned output side by side. */
export interface GenerateRequest {
  /** The job's id (cancel takes it). */
  runId: string;
  /** The run folder in the origin private file system (under "runs/") that holds the pruned model. */
  outputFolder: string;
  prompt: string;
  maxTokens: number;
  sampling: SamplingSettings;
}

export type GenerateModel = 'dense' | 'pruned';

export type GenerateEvent =
  | {
      type: 'token';
      model: GenerateModel;
      /** The text the token adds ("" while it leaves a character unfinished). */
      text: string;
      tokens: number;
      tokensPerSecond?: number;
      stop?: GenerationStats['stop'];
    }
  | { type: 'note'; message: string };

export type GenerateReply = Record<GenerateModel, Omit<GenerationStats, 'ids'>>;

/** The loss of each token of a text's first `maxTokens` under the open model and a run's pruned output. */
export interface TokenLossRequest {
  outputFolder: string;
  text: string;
  maxTokens: number;
}

export type TokenLossReply = TokenLosses;

/**
 * Events of one job (a run), delivered in order, tagged with the job's id. A comlink proxy of this crosses into
 * the worker.
 */
export type JobEventSink<E> = (runId: string, events: E[]) => void;
export type RunEventSink = JobEventSink<PruneEvent>;

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
  /** Continues a prompt with the open model and a run's pruned output, a token of each in turn. */
  generate(request: GenerateRequest, onEvents: JobEventSink<GenerateEvent>): Promise<GenerateReply>;
  tokenLosses(request: TokenLossRequest): Promise<TokenLossReply>;
  /** Asks a job to stop: a run within one layer, a generation between tokens; it then rejects with a CancelledError. */
  cancel(runId: string): Promise<void>;
  /** Re-prunes one layer of the last run from its kept Hessian factor, for the explorer. */
  probeLayer(request: LayerProbeRequest): Promise<LayerProbeReply>;
  errorCurve(tensor: string, sparsities: number[]): Promise<CurvePoint[]>;
  /** Frees the last run's kept factors. */
  closeExplorer(): Promise<void>;
  /**
   * Brings back the explorer a finished run saved in browser storage (after a reload): its layers, or none when
   * that run's explorer is no longer kept (only the latest run's is).
   */
  reopenExplorer(runId: string): Promise<PrunableLinear[]>;
  /**
   * Test-only: destroys the worker's current GPU device, as a driver reset would, so that the end-to-end tests can
   * prove a run resumes on a new device. Resolves false when no device was open. Reachable from the page only when
   * it was opened with ?test-hooks.
   */
  debugLoseDevice(): Promise<boolean>;
}

/**
 * How the client schedules each call; the compiler checks there is exactly one entry per method of PrunerApi.
 * - direct: straight to the worker, not queued (must answer while a run holds the queue)
 * - model: like direct, after the last opened model is opened again in a respawned worker
 * - open: queued; opens a model and is remembered, so a respawned worker opens it again
 * - queued: GPU work, one call at a time, in the order made
 * - latest: queued, and a call still waiting is dropped when a newer one of the same method arrives (slider drags)
 * - stream: a queued job `(request with runId, event sink)`; the client returns a JobHandle to cancel it
 * - control: used by the client itself (cancelling a stream), not offered to the UI
 */
export type CallPolicy = 'direct' | 'model' | 'open' | 'queued' | 'latest' | 'stream' | 'control';

export const CALL_POLICY = {
  probeGpu: 'direct',
  openModel: 'open',
  measureCalibration: 'model',
  measureEvaluation: 'model',
  prune: 'stream',
  generate: 'stream',
  tokenLosses: 'queued',
  cancel: 'control',
  probeLayer: 'latest',
  errorCurve: 'latest',
  closeExplorer: 'queued',
  reopenExplorer: 'queued',
  debugLoseDevice: 'direct',
} as const satisfies Record<keyof PrunerApi, CallPolicy>;

/**
 * What a whole-model pruning run takes, reports while it runs, and returns. Shared by the worker (and through it
 * the UI) and the CLI: both render the same events.
 */
import type { GgmlType } from '../quant/ggml-types';

// The settings live in the core's settings module (one home: types, defaults, limits, validator); the run's
// types below refer to them, and importers of this file find them here too.
export {
  DEFAULT_SETTINGS,
  PRUNE_METHODS,
  type PruneMethod,
  type PruneSettings,
  patternLabel,
  type SparsityPattern,
} from '../settings/prune-settings';

import type { PruneMethod, PruneSettings } from '../settings/prune-settings';
import type { RunTimings } from './run-timings';

/** One prunable linear of the model, as the UI lists it before a run. */
export interface PrunableLinear {
  block: number;
  /** Short name within the block, e.g. "self_attn.q_proj". */
  name: string;
  /** Checkpoint tensor name, e.g. "model.layers.0.self_attn.q_proj.weight". */
  tensor: string;
  rows: number;
  cols: number;
}

export interface ModelSummary {
  /** Folder or file name the user gave. */
  name: string;
  modelType: string;
  family: string;
  layers: number;
  hiddenSize: number;
  intermediateSize: number;
  heads: number;
  kvHeads: number;
  vocabSize: number;
  maxPositions: number;
  parameters: number;
  /** Weight dtypes present, e.g. ["F32"] or ["BF16", "F32"]. */
  dtypes: string[];
  sizeBytes: number;
  /** Bytes of the weight tensors alone: what an output's size is compared with. */
  weightBytes: number;
  /** Why llama.cpp cannot run this model, so no GGUF can be written (the GGUF map's own message); absent if it can. */
  ggufUnsupported?: string;
  files: string[];
  shards: number;
  tokenizer: string;
  prunable: PrunableLinear[];
  /** What sets the model apart from a plain Llama block (sliding windows, experts, soft-capping …), in words. */
  particulars: string[];
  /** Experts per mixture-of-experts MLP; 0 for a dense model. */
  experts: number;
  warnings: string[];
  /** The content fingerprint (src/core/io/fingerprint.ts): saved work is reused only for the same one. */
  fingerprint: string;
}

/** A coarse picture of a layer's mask: density of kept weights per cell, 0..255, row-major [height, width]. */
export interface MaskPreview {
  width: number;
  height: number;
  kept: Uint8Array;
}

export interface LayerResult {
  block: number;
  name: string;
  tensor: string;
  rows: number;
  cols: number;
  method: PruneMethod;
  /** The fraction of zeros asked of this linear (the run's, its block's allocation, or a per-layer target). */
  target?: number;
  /** Achieved fraction of zeros. */
  sparsity: number;
  /** ‖(W−Ŵ)X‖² / ‖WX‖² on the calibration inputs. */
  relativeError: number;
  ms: number;
  /** Dampening actually used (after retries on a non-positive pivot). */
  damping?: number;
  /** Set when the layer was left dense, with the reason shown to the user. */
  skipped?: string;
  mask?: MaskPreview;
  /** The ggml type the walk quantized the kept weights to (absent: float32). */
  quantization?: GgmlType;
}

export type RunStage =
  | 'loading'
  | 'tokenizing'
  | 'calibrating'
  | 'pruning'
  | 'evaluating'
  | 'writing'
  | 'verifying'
  | 'done';

export type PruneEvent =
  | { type: 'stage'; stage: RunStage; message: string }
  | { type: 'calibration'; nsamples: number; seqlen: number; textTokens: number; notes: string[] }
  | { type: 'block'; block: number; blocks: number }
  | { type: 'layer'; layer: LayerResult }
  | { type: 'warning'; message: string }
  /** Work done so far out of the total (arbitrary units proportional to time), with an estimate of what is left. */
  | { type: 'progress'; done: number; total: number; etaSeconds?: number }
  | { type: 'perplexity'; which: 'dense' | 'pruned'; perplexity: number; meanNll: number; tokens: number }
  /** The OWL allocation, measured before the first block is pruned. */
  | { type: 'allocation'; allocation: BlockAllocation };

/** How a run spread its sparsity over the blocks (OWL): each block's outlier ratio and sparsity. */
export interface BlockAllocation {
  outlierRatios: number[];
  blockSparsity: number[];
}

export interface PerplexityResult {
  perplexity: number;
  meanNll: number;
  tokens: number;
  windows: number;
  seqlen: number;
}

export interface RunResult {
  settings: PruneSettings;
  /** Bytes of the input's weight tensors, set where the output's size is shown beside it (the app). */
  inputBytes?: number;
  layers: LayerResult[];
  dense?: PerplexityResult;
  pruned?: PerplexityResult;
  /** Zeros over weights across all pruned linears. */
  overallSparsity: number;
  /** The OWL allocation the run used (absent for uniform). */
  allocation?: BlockAllocation;
  totalMs: number;
  /** Files written, relative to the output folder. */
  outputFiles: string[];
  notes: string[];
  /** Most GPU buffer bytes alive at once during the run. */
  peakGpuBytes?: number;
  /** Where this session's time went, stage by stage, and what was not arithmetic (run-timings.ts). */
  timings?: RunTimings;
}

export class CancelledError extends Error {
  constructor() {
    super('The run was cancelled.');
    this.name = 'CancelledError';
  }
}

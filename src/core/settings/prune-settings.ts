/**
 * The pruning settings: their types, defaults and limits, in one place for the app, the worker, the CLI, the
 * pipeline and the layer solver. `validate.ts` beside this file checks them against these limits; a new setting
 * is a field here, a default, a check there, and the controls that show it (a CLI option, a UI field).
 */

/** Every pruning method, in the order the app and `--help` list them. */
export const PRUNE_METHODS = ['sparsegpt', 'wanda', 'magnitude'] as const;

export type PruneMethod = (typeof PRUNE_METHODS)[number];

/**
 * Mixtures of experts: which tokens each expert's Hessian is taken over — those the router sends to it (the model's
 * own routing, as the paper's calibration would see it), or every calibration token (llm-compressor's option, for
 * experts the router rarely picks, which would otherwise be pruned from a handful of tokens or left dense).
 */
export const EXPERT_CALIBRATIONS = ['routed', 'all'] as const;

export type ExpertCalibration = (typeof EXPERT_CALIBRATIONS)[number];

/**
 * Weight quantization of the output, by llama.cpp's recipes (src/core/gguf/recipe.ts): every linear, the token
 * embeddings and the LM head at the recipe's type for each tensor ('q4_k_m' mixes Q4_K and Q6_K; a linear whose
 * width does not fill the type's blocks falls back as llama.cpp does). 'none' keeps float32 values.
 */
export const QUANTIZATIONS = ['none', 'f16', 'q8_0', 'q4_0', 'q4_k_m'] as const;

export type Quantization = (typeof QUANTIZATIONS)[number];

/**
 * How the linears are quantized: 'gptq' in SparseGPT's column walk, jointly with the mask (each rounding error is
 * spread onto the columns not yet walked, block scales searched for the least error); 'rtn' round-to-nearest with
 * ggml's own rules after any pruning (llama.cpp's quantizer, the baseline). Embeddings and the LM head are always
 * round-to-nearest (they have no Hessian).
 */
export const QUANT_METHODS = ['gptq', 'rtn'] as const;

export type QuantMethod = (typeof QUANT_METHODS)[number];

/** The output: a safetensors model folder (the input's layout), or one GGUF file for llama.cpp. */
export const OUTPUT_FORMATS = ['safetensors', 'gguf'] as const;

export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** "gptq:q4_0", "rtn:q8_0"; "none" without quantization (the provenance and the CLI's --quantize). */
export function quantizationLabel(settings: Pick<PruneSettings, 'quantization' | 'quantMethod'>): string {
  return settings.quantization === 'none' ? 'none' : `${settings.quantMethod}:${settings.quantization}`;
}

/** Unstructured, or N zeros in every group of M consecutive weights of a row (2:4, 4:8, …). */
export type SparsityPattern = 'unstructured' | { n: number; m: number };

/**
 * A sparsity for some linears instead of the run's: `layers` matches them as a skip entry does (a whole tensor name,
 * a suffix such as "mlp.down_proj", or a block such as "layers.0."). Where several entries match, the last wins.
 */
export interface LayerTarget {
  layers: string;
  sparsity: number;
}

/**
 * How the run's sparsity is spread over the blocks: the same everywhere, or by OWL (Yin et al., "Outlier Weighed
 * Layerwise Sparsity", ICML 2024): blocks with more outlier scores |W_ij|·‖X_j‖ keep more of their weights.
 */
export const ALLOCATIONS = ['uniform', 'owl'] as const;

export type Allocation = (typeof ALLOCATIONS)[number];

/** OWL's hyperparameters as the paper sets them for LLaMA: outliers above M = 5 × the block's mean score, λ = 0.08. */
export const OWL_DEFAULTS = { threshold: 5, lambda: 0.08 } as const;

export interface PruneSettings {
  method: PruneMethod;
  /** Fraction of weights set to zero in each pruned linear (unstructured); ignored for N:M (n/m). */
  sparsity: number;
  pattern: SparsityPattern;
  /** Calibration: `nsamples` random windows of `seqlen` tokens. */
  nsamples: number;
  seqlen: number;
  /** SparseGPT's lazy-batch block size (columns). */
  blockSize: number;
  /** Dampening as a fraction of the mean Hessian diagonal. */
  percdamp: number;
  seed: number;
  /**
   * Linears left dense: each entry matches a tensor name exactly, by suffix ("mlp.down_proj"), or by block
   * ("layers.0.").
   */
  skipLayers: string[];
  /** Limit on evaluation windows scored (undefined: the whole text). */
  evalMaxWindows?: number;
  /** Mixtures of experts: each expert calibrated on its routed tokens or on all of them; no effect on other models. */
  expertCalibration: ExpertCalibration;
  quantization: Quantization;
  quantMethod: QuantMethod;
  format: OutputFormat;
  /** Per-layer sparsities over the allocation (unstructured only); absent or empty: none. */
  layerTargets?: LayerTarget[];
  /** Absent: uniform. OWL is for unstructured sparsity. */
  allocation?: Allocation;
  /** OWL's M: a score is an outlier above M × its block's mean score. Default OWL_DEFAULTS.threshold. */
  owlThreshold?: number;
  /** OWL's λ: every block's sparsity stays within ±λ of the target. Default OWL_DEFAULTS.lambda. */
  owlLambda?: number;
}

/** The paper's settings (128 calibration samples, block 128, 1% dampening) at half sparsity. */
export const DEFAULT_SETTINGS: PruneSettings = {
  method: 'sparsegpt',
  sparsity: 0.5,
  pattern: 'unstructured',
  nsamples: 128,
  seqlen: 512,
  blockSize: 128,
  percdamp: 0.01,
  seed: 0,
  skipLayers: [],
  expertCalibration: 'routed',
  quantization: 'none',
  quantMethod: 'gptq',
  format: 'safetensors',
};

/**
 * What the tool accepts. Each bound says why it is there: the paper's own values are far inside them.
 * `maxGroup` is the walk kernel's register budget for one N:M group; the calibration caps keep the token ids and
 * hidden states of a run within what a typed array and a GPU can hold (the paper uses 128 × 2048 tokens).
 */
export const SETTING_LIMITS = {
  /** Sparsity is below 1: 100% would delete every weight. */
  maxSparsity: 1,
  maxGroup: 32,
  minSeqlen: 2,
  maxNsamples: 4096,
  maxCalibrationTokens: 1 << 20,
  /** Dampening is a fraction of the mean Hessian diagonal, above 0 (H must be invertible) and at most 1. */
  maxPercdamp: 1,
  maxSeed: 0xffff_ffff,
  /** OWL's λ above ½ would let blocks swing from dense to nearly empty. */
  maxOwlLambda: 0.5,
} as const;

/** The fraction of weights a pattern zeroes: N/M for N:M, else the sparsity asked for. NaN for an N:M that is not one. */
export function patternSparsity(pattern: SparsityPattern, sparsity: number): number {
  if (pattern === 'unstructured') return sparsity;
  const { n, m } = pattern;
  const valid = Number.isInteger(n) && Number.isInteger(m) && n >= 1 && n < m;
  return valid ? n / m : Number.NaN;
}

/** "50%" for unstructured, "2:4" for N:M. */
export function patternLabel(pattern: SparsityPattern, sparsity: number): string {
  return pattern === 'unstructured' ? `${Math.round(sparsity * 1000) / 10}%` : `${pattern.n}:${pattern.m}`;
}

/** "2:4" → {n: 2, m: 4}; "unstructured" as is; undefined when the text is neither (the range is validate's). */
export function parsePatternText(text: string): SparsityPattern | undefined {
  if (text === 'unstructured') return text;
  const match = /^(\d+):(\d+)$/.exec(text.trim());
  return match ? { n: Number(match[1]), m: Number(match[2]) } : undefined;
}

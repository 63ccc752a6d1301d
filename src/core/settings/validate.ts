/**
 * The one check of the pruning settings. It returns every problem at once, each with the setting it is about and a
 * message that says what to change; the app lists them under the settings, the CLI prints them against its
 * options, the pipeline and the layer solver refuse to start with them (as a SettingsError).
 */
import {
  ALLOCATIONS,
  EXPERT_CALIBRATIONS,
  SETTING_LIMITS as LIMITS,
  OUTPUT_FORMATS,
  PRUNE_METHODS,
  type PruneSettings,
  QUANT_METHODS,
  QUANTIZATIONS,
  type SparsityPattern,
} from './prune-settings';

export type SettingField = keyof PruneSettings;

export interface SettingProblem {
  field: SettingField;
  message: string;
}

/** What is known of the model the settings are for; checks that need it are skipped without it. */
export interface ModelLimits {
  maxPositions?: number;
  /** Why llama.cpp cannot run the model (the GGUF map's message), when it cannot: no GGUF output then. */
  ggufUnsupported?: string;
}

export class SettingsError extends Error {
  constructor(readonly problems: SettingProblem[]) {
    super(problems.map((p) => p.message).join('\n'));
    this.name = 'SettingsError';
  }
}

type Check = (settings: PruneSettings, model: ModelLimits) => string | undefined;

const isWhole = (value: unknown): value is number => Number.isInteger(value);
const oneOf = (choices: readonly string[]) =>
  `${choices.slice(0, -1).map(shown).join(', ')} or ${shown(choices.at(-1))}`;
const shown = (value: unknown): string => (typeof value === 'number' ? String(value) : JSON.stringify(value));

const CHECKS: { [K in SettingField]: Check } = {
  method: ({ method }) =>
    PRUNE_METHODS.includes(method)
      ? undefined
      : `Unknown method ${shown(method)}: choose ${PRUNE_METHODS.slice(0, -1).join(', ')} or ${PRUNE_METHODS.at(-1)}.`,
  sparsity: ({ sparsity, pattern }) => {
    if (pattern !== 'unstructured') return undefined; // N:M fixes the sparsity at N/M
    return typeof sparsity === 'number' && sparsity >= 0 && sparsity < LIMITS.maxSparsity
      ? undefined
      : `Sparsity must be at least 0 and below 1 (100% would delete every weight); got ${shown(sparsity)}.`;
  },
  pattern: ({ pattern }) => patternProblem(pattern),
  nsamples: ({ nsamples, seqlen }) => {
    if (!isWhole(nsamples) || nsamples < 1) {
      return `Calibration samples must be a whole number ≥ 1; got ${shown(nsamples)}.`;
    }
    if (nsamples > LIMITS.maxNsamples) {
      return `Calibration samples can be at most ${LIMITS.maxNsamples} (the paper uses 128); got ${shown(nsamples)}.`;
    }
    const tokens = nsamples * seqlen;
    if (isWhole(seqlen) && tokens > LIMITS.maxCalibrationTokens) {
      return (
        `Calibration takes samples × sequence length tokens: ${nsamples} × ${seqlen} = ${tokens} is more than ` +
        `${LIMITS.maxCalibrationTokens} (the paper uses 128 × 2048 = 262144); use fewer samples or shorter sequences.`
      );
    }
    return undefined;
  },
  seqlen: ({ seqlen }, { maxPositions }) => {
    const fits = isWhole(seqlen) && seqlen >= LIMITS.minSeqlen;
    if (maxPositions === undefined) {
      return fits ? undefined : `The sequence length must be a whole number ≥ 2; got ${shown(seqlen)}.`;
    }
    return fits && seqlen <= maxPositions
      ? undefined
      : `The sequence length must be a whole number from 2 to the model's ${maxPositions} positions; got ${shown(seqlen)}.`;
  },
  blockSize: ({ blockSize }) =>
    isWhole(blockSize) && blockSize >= 1
      ? undefined
      : `The block size must be a whole number of columns ≥ 1; got ${shown(blockSize)}.`,
  percdamp: ({ percdamp }) =>
    typeof percdamp === 'number' && percdamp > 0 && percdamp <= LIMITS.maxPercdamp
      ? undefined
      : 'Dampening must be above 0 and at most 1 (0% to 100% of the mean Hessian diagonal; the paper uses ' +
        `0.01 = 1%); got ${shown(percdamp)}.`,
  seed: ({ seed }) =>
    isWhole(seed) && seed >= 0 && seed <= LIMITS.maxSeed
      ? undefined
      : `The random seed must be a whole number from 0 to ${LIMITS.maxSeed}; got ${shown(seed)}.`,
  skipLayers: ({ skipLayers }) =>
    Array.isArray(skipLayers) && skipLayers.every((entry) => typeof entry === 'string')
      ? undefined
      : `The layers to skip must be a list of names; got ${shown(skipLayers)}.`,
  evalMaxWindows: ({ evalMaxWindows: windows }) =>
    windows === undefined || (isWhole(windows) && windows >= 1)
      ? undefined
      : `The evaluation window limit must be a whole number ≥ 1; got ${shown(windows)}.`,
  expertCalibration: ({ expertCalibration }) =>
    EXPERT_CALIBRATIONS.includes(expertCalibration)
      ? undefined
      : `Expert calibration must be "routed" (each expert on the tokens routed to it) or "all" (every expert on ` +
        `every token); got ${shown(expertCalibration)}.`,
  quantization: ({ quantization, pattern }) => {
    if (!QUANTIZATIONS.includes(quantization)) {
      return `Unknown quantization ${shown(quantization)}: choose ${oneOf(QUANTIZATIONS)}.`;
    }
    // The walk quantizes a group of 32 columns (one ggml block) after walking its N:M groups whole.
    if (quantization !== 'none' && quantization !== 'f16' && pattern !== 'unstructured') {
      const { m } = pattern;
      if (isWhole(m) && m >= 1 && 32 % m !== 0) {
        return (
          `Quantizing to ${quantization.toUpperCase()} with the ${pattern.n}:${m} pattern needs M to divide 32 (a ` +
          'ggml block of 32 columns holds whole N:M groups): use 2:4, 4:8, 8:16 or 16:32, or no quantization.'
        );
      }
    }
    return undefined;
  },
  quantMethod: ({ quantMethod }) =>
    QUANT_METHODS.includes(quantMethod)
      ? undefined
      : `Unknown quantization method ${shown(quantMethod)}: choose ${oneOf(QUANT_METHODS)}.`,
  format: ({ format }, { ggufUnsupported }) => {
    if (!OUTPUT_FORMATS.includes(format)) {
      return `Unknown output format ${shown(format)}: choose ${oneOf(OUTPUT_FORMATS)}.`;
    }
    return format === 'gguf' && ggufUnsupported ? ggufUnsupported : undefined;
  },
  layerTargets: ({ layerTargets, pattern }) => layerTargetsProblem(layerTargets, pattern),
  allocation: ({ allocation, pattern }) => {
    if (allocation === undefined || allocation === 'uniform') return undefined;
    if (!ALLOCATIONS.includes(allocation)) {
      return `Unknown allocation ${shown(allocation)}: choose ${ALLOCATIONS.join(' or ')}.`;
    }
    return pattern === 'unstructured'
      ? undefined
      : 'The OWL allocation spreads an unstructured sparsity over the blocks: choose Unstructured, or the uniform ' +
          'allocation for N:M.';
  },
  owlThreshold: ({ owlThreshold: m }) =>
    m === undefined || (typeof m === 'number' && Number.isFinite(m) && m > 0)
      ? undefined
      : `OWL's outlier threshold M must be a number above 0 (the paper uses 5); got ${shown(m)}.`,
  owlLambda: ({ owlLambda: lambda }) =>
    lambda === undefined || (typeof lambda === 'number' && lambda >= 0 && lambda <= LIMITS.maxOwlLambda)
      ? undefined
      : `OWL's λ must be from 0 to ${LIMITS.maxOwlLambda} (the paper uses 0.08); got ${shown(lambda)}.`,
};

function layerTargetsProblem(targets: unknown, pattern: SparsityPattern): string | undefined {
  if (targets === undefined) return undefined;
  if (!Array.isArray(targets)) return `The per-layer targets must be a list; got ${shown(targets)}.`;
  for (const target of targets) {
    const { layers, sparsity } = (target ?? {}) as { layers?: unknown; sparsity?: unknown };
    if (typeof layers !== 'string' || !layers.trim()) {
      return `Each per-layer target needs the layers it is for (e.g. "layers.0." or "mlp.down_proj"); got ${shown(target)}.`;
    }
    if (typeof sparsity !== 'number' || !(sparsity >= 0 && sparsity < LIMITS.maxSparsity)) {
      return `The per-layer sparsity of "${layers}" must be at least 0 and below 1; got ${shown(sparsity)}.`;
    }
  }
  if (targets.length > 0 && pattern !== 'unstructured') {
    return 'Per-layer targets set unstructured sparsities: choose Unstructured, or clear the per-layer targets.';
  }
  return undefined;
}

function patternProblem(pattern: SparsityPattern): string | undefined {
  if (pattern === 'unstructured') return undefined;
  if (typeof pattern !== 'object' || pattern === null) {
    return `The pattern must be "unstructured" or N:M (e.g. 2:4); got ${shown(pattern)}.`;
  }
  const { n, m } = pattern;
  if (!isWhole(n) || !isWhole(m) || n < 1 || n >= m) {
    return `An N:M pattern needs whole numbers with 1 ≤ N < M (N zeros in every M weights); got ${n}:${m}.`;
  }
  if (m > LIMITS.maxGroup) {
    return (
      `An N:M pattern's group M can be at most ${LIMITS.maxGroup} (the solver holds a group in registers); ` +
      `got ${n}:${m}.`
    );
  }
  return undefined;
}

/** Every problem of the settings (or of the fields named), in the order of the settings' fields. */
export function settingsProblems(
  settings: PruneSettings,
  model: ModelLimits = {},
  fields: readonly SettingField[] = Object.keys(CHECKS) as SettingField[],
): SettingProblem[] {
  const problems: SettingProblem[] = [];
  for (const field of fields) {
    const message = CHECKS[field](settings, model);
    if (message) problems.push({ field, message });
  }
  return problems;
}

/** Throws a SettingsError listing every problem; returns when there is none. */
export function assertValidSettings(
  settings: PruneSettings,
  model: ModelLimits = {},
  fields?: readonly SettingField[],
): void {
  const problems = settingsProblems(settings, model, fields);
  if (problems.length) throw new SettingsError(problems);
}

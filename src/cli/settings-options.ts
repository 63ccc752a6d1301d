/**
 * The pruning settings as command-line options: one option per setting, read into the core's PruneSettings and
 * checked by the core's one validator, whose messages are printed against the option they are about.
 */
import {
  DEFAULT_SETTINGS,
  OUTPUT_FORMATS,
  PRUNE_METHODS,
  type PruneSettings,
  parsePatternText,
  QUANTIZATIONS,
  type SparsityPattern,
} from '../core/settings/prune-settings';
import {
  type ModelLimits,
  type SettingField,
  SettingsError,
  settingsProblems,
} from '../core/settings/validate';
import { UsageError } from './command';
import { numberValue, type OptionSpec, type ParsedCommandLine, stringValue } from './options';

/** The option that sets each setting (for messages). */
export const SETTING_OPTIONS: Record<SettingField, string> = {
  method: '--method',
  sparsity: '--sparsity',
  pattern: '--pattern',
  nsamples: '--nsamples',
  seqlen: '--seqlen',
  blockSize: '--block-size',
  percdamp: '--damp',
  seed: '--seed',
  skipLayers: '--skip',
  evalMaxWindows: '--eval-windows',
  expertCalibration: '--expert-calibration',
  quantization: '--quantize',
  quantMethod: '--quantize',
  format: '--format',
  layerTargets: '--layer-sparsity',
  allocation: '--allocation',
  owlThreshold: '--owl-m',
  owlLambda: '--owl-lambda',
};

const D = DEFAULT_SETTINGS;

/** The options of the solver's own settings, shared by `prune` and `prune-layer`. */
export const SOLVER_OPTIONS: OptionSpec[] = [
  {
    name: 'method',
    value: 'NAME',
    choices: PRUNE_METHODS,
    help: `${PRUNE_METHODS.join(', ')}; default ${D.method}`,
  },
  {
    name: 'sparsity',
    value: 'F',
    help: `fraction of weights zeroed per linear (unstructured), at least 0 and below 1; default ${D.sparsity}`,
  },
  {
    name: 'pattern',
    value: 'N:M',
    help: 'N zeros in every M consecutive weights of a row (2:4, 4:8; M at most 32); instead of --sparsity',
  },
  { name: 'block-size', value: 'B', help: `SparseGPT lazy-batch block (columns); default ${D.blockSize}` },
  {
    name: 'damp',
    value: 'F',
    help: `dampening, a fraction of mean diag(H) above 0 and at most 1; default ${D.percdamp}`,
  },
];

/** `--quantize` and `--format`, the output's options (prune only: prune-layer prints no model). */
export const OUTPUT_OPTIONS: OptionSpec[] = [
  {
    name: 'quantize',
    value: '[METHOD:]TYPE',
    help:
      `quantize the weights: ${QUANTIZATIONS.filter((q) => q !== 'none').join(', ')} (q4_k_m: llama.cpp's Q4_K/Q6_K mix);\n` +
      'METHOD gptq (default: in the walk, jointly with any pruning; alone it prunes nothing) or rtn\n' +
      "(round-to-nearest after pruning, llama.cpp's own quantizer); default none",
  },
  {
    name: 'format',
    value: 'FORMAT',
    choices: OUTPUT_FORMATS,
    help:
      'safetensors (a model folder; quantized weights as their dequantized values in the input dtype) or gguf\n' +
      '(one FILE.gguf for llama.cpp); default gguf when --out ends in .gguf, else safetensors',
  },
];

/** Quantization and output format from `--quantize [gptq:|rtn:]TYPE` and `--format` (or --out's extension). */
export function readOutputSettings(
  args: ParsedCommandLine,
  out: string | undefined,
): Pick<PruneSettings, 'quantization' | 'quantMethod' | 'format'> {
  const text = stringValue(args, 'quantize');
  const format = (stringValue(args, 'format') ??
    (out?.toLowerCase().endsWith('.gguf') ? 'gguf' : D.format)) as PruneSettings['format'];
  if (text === undefined) return { quantization: 'none', quantMethod: D.quantMethod, format };
  const match = /^(?:(gptq|rtn):)?([a-z0-9_]+)$/.exec(text.trim().toLowerCase());
  if (!match || !(QUANTIZATIONS as readonly string[]).includes(match[2])) {
    throw new UsageError(
      `--quantize must be one of ${QUANTIZATIONS.join(', ')}, optionally led by gptq: or rtn: (e.g. rtn:q4_0); ` +
        `got "${text}"`,
    );
  }
  return {
    quantization: match[2] as PruneSettings['quantization'],
    quantMethod: (match[1] ?? D.quantMethod) as PruneSettings['quantMethod'],
    format,
  };
}

/** The solver's settings read from the options over `base`; problems are thrown as SettingsError. */
export function readSolverSettings(args: ParsedCommandLine, base: PruneSettings): PruneSettings {
  const pattern = readPattern(args);
  if (pattern !== 'unstructured' && args.values.sparsity !== undefined) {
    throw new UsageError(
      `--sparsity and --pattern ${stringValue(args, 'pattern')} conflict: an N:M pattern fixes the sparsity at ` +
        'N/M; give one of them',
    );
  }
  return {
    ...base,
    method: (stringValue(args, 'method') as PruneSettings['method'] | undefined) ?? base.method,
    sparsity: numberValue(args, 'sparsity') ?? base.sparsity,
    pattern,
    blockSize: numberValue(args, 'block-size') ?? base.blockSize,
    percdamp: numberValue(args, 'damp') ?? base.percdamp,
  };
}

function readPattern(args: ParsedCommandLine): SparsityPattern {
  const text = stringValue(args, 'pattern');
  if (text === undefined) return 'unstructured';
  const pattern = parsePatternText(text);
  if (!pattern) throw new UsageError(`--pattern must look like 2:4 or 4:8 (got "${text}")`);
  return pattern;
}

/** Problems, one line each, led by the option to change (a command may call a setting's option otherwise). */
export function settingsErrorLines(
  error: SettingsError,
  names: Partial<Record<SettingField, string>> = {},
): string[] {
  return error.problems.map((p) => `${names[p.field] ?? SETTING_OPTIONS[p.field]}: ${p.message}`);
}

/** The core's validator on settings read from options: every problem at once, as a usage error. */
export function checkSettingOptions(
  settings: PruneSettings,
  model: ModelLimits = {},
  fields?: readonly SettingField[],
  names?: Partial<Record<SettingField, string>>,
): void {
  const problems = settingsProblems(settings, model, fields);
  if (!problems.length) return;
  const lines = settingsErrorLines(new SettingsError(problems), names);
  throw new UsageError(lines.join('\n'), lines);
}

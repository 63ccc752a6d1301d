/**
 * The pruning settings as command-line options: one option per setting, read into the core's PruneSettings and
 * checked by the core's one validator, whose messages are printed against the option they are about.
 */
import {
  DEFAULT_SETTINGS,
  PRUNE_METHODS,
  type PruneSettings,
  parsePatternText,
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

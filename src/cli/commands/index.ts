/** The command list and the dispatch: `sparsegpt <command> [options]`, `--help`, `--version`, exit codes. */
import { SettingsError } from '../../core/settings/validate';
import { TOOL_NAME, TOOL_VERSION } from '../../core/version';
import { type Command, EXIT, UsageError } from '../command';
import { helpText, wantsHelp } from '../options';
import { settingsErrorLines } from '../settings-options';
import { evaluate } from './eval';
import { exportGguf } from './export-gguf';
import { generate } from './generate';
import { gpuInfo } from './gpu-info';
import { inspect } from './inspect';
import { prune } from './prune';
import { pruneLayerCommand } from './prune-layer';
import { sweep } from './sweep';

const COMMANDS: Command[] = [
  gpuInfo,
  inspect,
  prune,
  sweep,
  evaluate,
  pruneLayerCommand,
  exportGguf,
  generate,
];

function help(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(14)} ${c.summary}`);
  return [
    'usage: sparsegpt <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    '`sparsegpt <command> --help` lists the options of a command; `sparsegpt --version` prints the version.',
  ].join('\n');
}

export async function runCommand(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version') {
    console.log(`${TOOL_NAME} ${TOOL_VERSION}`);
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`unknown command "${name}"\n\n${help()}`);
    return EXIT.usage;
  }
  if (wantsHelp(args)) {
    console.log(helpText(command));
    return EXIT.ok;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof SettingsError || error instanceof UsageError) {
      const lines = error instanceof SettingsError ? settingsErrorLines(error) : error.problems;
      for (const line of lines) console.error(`error: ${line}`);
    } else {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    }
    return isInputError(error) ? EXIT.usage : EXIT.failure;
  }
}

/** Errors about what the user gave (files, texts, settings), as opposed to failures while running. */
const INPUT_ERRORS = new Set([
  'UsageError',
  'ModelFileError',
  'SettingsError',
  'CalibrationError',
  'OutputFolderError',
  'TextFileError',
  'EvaluationTextError',
  'ProgressMismatchError',
  'InvalidSettingError',
  'UnsupportedModelError',
  'UnsupportedRopeError',
]);

function isInputError(error: unknown): boolean {
  return error instanceof UsageError || (error instanceof Error && INPUT_ERRORS.has(error.name));
}

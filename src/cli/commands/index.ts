import { evaluate } from './eval';
import { exportGguf } from './export-gguf';
import { gpuInfo } from './gpu-info';
import { inspect } from './inspect';
import { prune } from './prune';
import { pruneLayerCommand } from './prune-layer';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Command[] = [gpuInfo, inspect, prune, evaluate, pruneLayerCommand, exportGguf];

function help(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(14)} ${c.summary}`);
  return ['usage: sparsegpt <command> [options]', '', 'commands:', ...lines].join('\n');
}

/** Exit codes: 0 ok, 1 failure while running, 2 bad usage or bad input. */
export async function runCommand(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (error) {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    return isInputError(error) ? 2 : 1;
  }
}

export class UsageError extends Error {}

/** Errors about what the user gave (files, texts, settings), as opposed to failures while running. */
const INPUT_ERRORS = new Set([
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

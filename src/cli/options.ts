/**
 * Command-line options through Node's own parser (`util.parseArgs`, strict): an unknown option, a missing value or
 * a value given to a flag is a usage error with a message that names the option. Each command declares its options
 * once; the same list drives the parser and `--help`.
 */
import { parseArgs } from 'node:util';
import { type Command, UsageError } from './command';

export interface OptionSpec {
  name: string;
  /** What the value is called in `--help` ("N", "FILE"); a spec without one is a flag. */
  value?: string;
  help: string;
  /** The only values allowed (checked here, so the message can list them). */
  choices?: readonly string[];
  short?: string;
}

export interface ParsedCommandLine {
  positionals: string[];
  /** A string for each option given with a value, true for each flag given; absent when not given. */
  values: Record<string, string | boolean | undefined>;
}

export const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', help: 'show this help' };

export function helpText(command: Command): string {
  const specs = [...command.options, HELP_OPTION];
  const left = specs.map((spec) => {
    const long = `--${spec.name}${spec.value ? ` ${spec.value}` : ''}`;
    return spec.short ? `-${spec.short}, ${long}` : `    ${long}`;
  });
  const width = Math.max(...left.map((text) => text.length)) + 2;
  const lines = specs.map((spec, i) => {
    const [first, ...rest] = spec.help.split('\n');
    return [`  ${left[i].padEnd(width)}${first}`, ...rest.map((line) => `  ${' '.repeat(width)}${line}`)];
  });
  return [
    `usage: sparsegpt ${command.synopsis}`,
    ...(command.description ? ['', command.description] : []),
    '',
    'options:',
    ...lines.flat(),
  ].join('\n');
}

export function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function parseCommandLine(command: Command, argv: string[]): ParsedCommandLine {
  const options = Object.fromEntries(
    command.options.map((spec) => [
      spec.name,
      {
        type: spec.value ? ('string' as const) : ('boolean' as const),
        ...(spec.short && { short: spec.short }),
      },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    if (!String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS')) throw error;
    throw new UsageError(`${explainParseError(error)} (see sparsegpt ${command.name} --help)`);
  }
  const values = parsed.values as ParsedCommandLine['values'];
  for (const spec of command.options) {
    const value = values[spec.name];
    if (spec.choices && typeof value === 'string' && !spec.choices.includes(value)) {
      throw new UsageError(`--${spec.name} must be one of ${spec.choices.join(', ')} (got "${value}")`);
    }
  }
  const { name, min, max } = command.positionals;
  const count = parsed.positionals.length;
  if (count < min || count > max) {
    const wanted =
      max === 0 ? 'no arguments' : min === max ? `exactly one ${name}` : `at most ${max} ${name}`;
    const got = count === 0 ? 'none' : parsed.positionals.map((p) => `"${p}"`).join(', ');
    throw new UsageError(`give ${wanted} (got ${got})\n\n${helpText(command)}`);
  }
  return { positionals: parsed.positionals, values };
}

/** Node's parser errors, reworded to name the option the way the user typed it. */
function explainParseError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = (error as Error).message;
  const option = /'(?:-\w, )?(-[^' ]+)/.exec(message)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/does not take an argument/.test(message)) return `option ${option} takes no value`;
      if (/ambiguous/.test(message)) {
        return `option ${option} needs a value (for a value that starts with a dash, write ${option}=-VALUE)`;
      }
      return `option ${option} needs a value`;
    default:
      return message;
  }
}

export function stringValue(args: ParsedCommandLine, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function flag(args: ParsedCommandLine, name: string): boolean {
  return args.values[name] === true;
}

/** The value of a required option; `what` names the value in the message ("--calib FILE is required"). */
export function requiredValue(args: ParsedCommandLine, name: string, what?: string): string {
  const value = stringValue(args, name);
  if (!value) throw new UsageError(`--${name}${what ? ` ${what}` : ''} is required`);
  return value;
}

/** A number given on the command line; its range is the settings validator's (or the caller's) to check. */
export function numberValue(args: ParsedCommandLine, name: string): number | undefined {
  const raw = stringValue(args, name);
  if (raw === undefined) return undefined;
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a number (got "${raw}")`);
  return value;
}

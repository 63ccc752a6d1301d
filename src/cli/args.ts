/** A small, strict option parser: unknown options and missing values are usage errors, never silently ignored. */
import { UsageError } from './commands/index';

export interface ParsedArgs {
  positional: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: string[], valued: string[], flags: string[] = []): ParsedArgs {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (flags.includes(name)) {
      options.set(name, true);
    } else if (valued.includes(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || (inline === undefined && value.startsWith('--'))) {
        throw new UsageError(`option --${name} needs a value`);
      }
      options.set(name, value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positional, options };
}

export function numberOption(args: ParsedArgs, name: string, fallback: number, integer = false): number {
  const raw = args.options.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw === true || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${integer ? 'a whole number' : 'a number'} (got "${raw}")`);
  }
  return value;
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const raw = args.options.get(name);
  return typeof raw === 'string' ? raw : undefined;
}

/** "2:4" → {n: 2, m: 4}; "unstructured" → 'unstructured'. */
export function parsePattern(text: string): 'unstructured' | { n: number; m: number } {
  if (text === 'unstructured') return text;
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw new UsageError(`--pattern must look like 2:4 or 4:8 (got "${text}")`);
  const n = Number(match[1]);
  const m = Number(match[2]);
  if (n < 1 || n >= m) throw new UsageError(`--pattern ${text}: N must be at least 1 and smaller than M`);
  return { n, m };
}

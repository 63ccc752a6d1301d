/** What a CLI command is, and the error that means "the user asked for something this command cannot do". */
import type { OptionSpec } from './options';

export interface Command {
  name: string;
  /** One line for `sparsegpt --help`. */
  summary: string;
  /** The usage line after "usage: sparsegpt ", e.g. "prune MODEL_DIR --calib FILE --out OUT_DIR [options]". */
  synopsis: string;
  /** Paragraphs printed between the usage line and the options in `--help`. */
  description?: string;
  /** Every option the command takes; `--help` lists them all, the parser refuses any other. */
  options: OptionSpec[];
  /** How many positional arguments the command takes, and what they are called in messages. */
  positionals: { name: string; min: number; max: number };
  /** Runs on the raw arguments after the command's name; parses them with parseCommandLine(this, argv). */
  run(argv: string[]): Promise<number>;
}

/** Bad usage or bad input: printed as `error: …` (one line per problem) with exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [message],
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes: 0 ok, 1 failure while running, 2 bad usage or bad input; 128 + N after signal N. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * Where a run's output goes, resolved once: `..`, trailing slashes and symbolic links of the parts that exist are
 * taken out before anything is compared or created, so "MODEL/", "MODEL/../MODEL" and a link to MODEL are all
 * recognised as MODEL. Everything the run writes beside the output (the progress folder, the lock, the staging
 * folder) is derived from this one resolved path.
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { isInside } from './files';
import { OutputFolderError } from './output-errors';

export interface OutputPaths {
  /** The output folder as the user wrote it, for messages. */
  given: string;
  /** The resolved output folder. */
  final: string;
  /** Finished blocks of the run, kept for --resume: "OUT.progress" beside it. */
  progress: string;
  /** Held while a run writes to this output: ".OUT.lock" beside it. */
  lock: string;
}

/** The real path of `path`, whose last parts may not exist yet: the existing part is resolved, the rest appended. */
export async function realPathAhead(path: string): Promise<string> {
  const missing: string[] = [];
  let current = resolve(path);
  for (;;) {
    try {
      return join(await realpath(current), ...missing.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const parent = dirname(current);
      if (code !== 'ENOENT' || parent === current) {
        throw new OutputFolderError(`cannot use ${path} as an output folder: ${(error as Error).message}`);
      }
      missing.push(basename(current));
      current = parent;
    }
  }
}

export interface RunInput {
  path: string;
  /** What it is, for messages: "model folder", "calibration file". */
  what: string;
}

/** Refuses an output (or its progress folder) that is an input, lies inside one, or holds one. */
function checkApart(label: string, target: string, input: string, what: string): void {
  if (target === input) {
    throw new OutputFolderError(
      `${label} is the ${what} itself (${input}): the input is never overwritten. Choose another --out.`,
    );
  }
  if (isInside(target, input)) {
    throw new OutputFolderError(
      `${label} (${target}) is inside the ${what} ${input}: choose an --out outside it.`,
    );
  }
  if (isInside(input, target)) {
    throw new OutputFolderError(
      `${label} (${target}) contains the ${what} ${input}: it could be replaced or removed. Choose another --out.`,
    );
  }
}

export async function resolveOutputPaths(out: string, inputs: RunInput[]): Promise<OutputPaths> {
  if (!out.trim()) throw new OutputFolderError('--out is empty: give the folder the pruned model goes to');
  const final = await realPathAhead(out);
  if (dirname(final) === final) throw new OutputFolderError(`--out ${out} is the root of the file system`);
  const paths: OutputPaths = {
    given: out,
    final,
    progress: `${final}.progress`,
    lock: join(dirname(final), `.${basename(final)}.lock`),
  };
  for (const input of inputs) {
    const real = await realpath(resolve(input.path)).catch(() => resolve(input.path));
    checkApart(`--out ${out}`, final, real, input.what);
    checkApart(`the progress folder of --out ${out}`, paths.progress, real, input.what);
  }
  return paths;
}

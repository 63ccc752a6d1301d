/**
 * Writing one .gguf file from the command line (`export-gguf`, `prune --format gguf`): the target is checked before
 * any work, the file is written under a temporary name beside it, re-read and checked, and only then renamed; on
 * any failure nothing is left behind.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type GgufExportPlan, verifyGgufExport, writeGgufExport } from '../core/gguf/export';
import type { ByteSink } from '../core/io/bytes';
import { ModelFileError } from '../core/io/errors';
import { fileByteSink, fileByteSource } from '../node/files';
import { UsageError } from './command';

/** The absolute path of `out` once it is known to name a .gguf that may be written. */
export async function checkGgufTarget(out: string, force: boolean): Promise<string> {
  if (!out.toLowerCase().endsWith('.gguf'))
    throw new UsageError(`--out must name a .gguf file (got "${out}")`);
  const target = resolve(out);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`${out} is a folder; --out must name a .gguf file`);
  if (existing && !force) throw new UsageError(`${out} already exists: choose another --out or add --force`);
  return target;
}

/** A hidden name beside `target` for a temporary file of this run. */
export function besideTarget(target: string, suffix: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.${suffix}`);
}

/**
 * Writes `plan` to `target` (named `out` in messages): temporary name, checked, renamed. A stop asked through
 * `signal` ends the write between pieces with a CancelledError, the temporary file removed.
 */
export async function writeGgufFile(
  plan: GgufExportPlan,
  target: string,
  out: string,
  signal?: AbortSignal,
): Promise<void> {
  const staging = besideTarget(target, 'partial');
  try {
    await writeGgufExport(pacedForTests(await fileByteSink(staging)), plan, undefined, signal);
    await verifyGgufExport(await fileByteSource(staging, basename(out)), plan);
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { force: true });
    if (error instanceof ModelFileError && error.code === 'write-failed') {
      throw new ModelFileError(
        'write-failed',
        `${error.message.replaceAll(staging, out)}; nothing was left behind`,
        {
          file: out,
          cause: error,
        },
      );
    }
    throw error;
  }
}

/**
 * Test hook: SPARSEGPT_TEST_WRITE_PAUSE_MS pauses before each piece written, so that a test can stop the CLI in the
 * middle of writing a tiny model's GGUF (which otherwise takes milliseconds). The write itself is the real one.
 */
function pacedForTests(sink: ByteSink): ByteSink {
  const pause = Number(process.env.SPARSEGPT_TEST_WRITE_PAUSE_MS ?? 0);
  if (!(pause > 0)) return sink;
  return {
    write: async (chunk) => {
      await new Promise((resolve) => setTimeout(resolve, pause));
      await sink.write(chunk);
    },
    close: () => sink.close(),
    abort: (reason) => sink.abort(reason),
  };
}

/** "Q4_0×12, F16×5, F32×9": how many tensors of each type. */
export function countTypes(types: string[]): string {
  const counts = new Map<string, number>();
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
  return [...counts].map(([type, n]) => `${type}×${n}`).join(', ');
}

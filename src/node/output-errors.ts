/**
 * What went wrong with the output location, in words: an occupied, foreign or locked folder, or a disk that
 * cannot be written (read-only, full, no permission) — never a bare "ENOENT … mkdir".
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import { systemMessage } from './files';

export class OutputFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputFolderError';
  }
}

/** The deepest part of `path` that exists. */
async function existingAncestor(path: string): Promise<string> {
  let current = path;
  for (;;) {
    try {
      await access(current);
      return current;
    } catch {
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/**
 * Why `path` could not be created or written. Creating folders on a read-only disk reports ENOENT, so an ENOENT
 * is explained by what the deepest existing folder allows.
 */
export async function writeFailure(path: string, cause: unknown): Promise<OutputFolderError> {
  let code = (cause as NodeJS.ErrnoException)?.code;
  let where = path;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') {
    where = await existingAncestor(path);
    try {
      await access(where, constants.W_OK);
    } catch (error) {
      code = (error as NodeJS.ErrnoException).code ?? code;
    }
  }
  const original = cause instanceof Error ? cause.message : String(cause);
  const reason = systemMessage(Object.assign(new Error(original), { code }));
  const advice =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? 'Free some space (the output is about as large as the input model) or choose --out on another disk.'
      : 'Choose --out on a disk and folder you can write to.';
  return new OutputFolderError(`cannot write ${path}: ${reason} (at ${where}). ${advice}`);
}

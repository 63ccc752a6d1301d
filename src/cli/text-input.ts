/** Calibration and evaluation texts named on the command line: .txt as it is, .jsonl by its "text" fields. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { textFromContent } from '../core/text/text-file';
import { UsageError } from './command';

export async function readTextArgument(path: string, what: string): Promise<string> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the ${what} text ${path}: ${(error as Error).message}`);
  }
  return textFromContent(content, basename(path));
}

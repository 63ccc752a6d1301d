/**
 * Calibration and evaluation texts from files: plain text as it is, JSON Lines as the "text" field of each record
 * (the layout of C4, RedPajama and most corpus dumps), joined by blank lines.
 */

export class TextFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TextFileError';
  }
}

/** Beyond this a calibration text only costs memory: a few MB hold thousands of 2048-token samples. */
export const MAX_TEXT_BYTES = 200 * 1024 * 1024;

const TEXT_KEYS = ['text', 'content', 'document', 'body'];

export function textFromJsonLines(content: string, fileName: string): string {
  const texts: string[] = [];
  const lines = content.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      throw new TextFileError(
        `${fileName}, line ${i + 1}, is not valid JSON: each line of a .jsonl file must be one record.`,
      );
    }
    if (typeof record === 'string') {
      texts.push(record);
      continue;
    }
    const key =
      record && typeof record === 'object'
        ? TEXT_KEYS.find((k) => typeof (record as Record<string, unknown>)[k] === 'string')
        : undefined;
    if (!key) {
      throw new TextFileError(
        `${fileName}, line ${i + 1}, has no "text" field (records need one of: ${TEXT_KEYS.join(', ')}).`,
      );
    }
    texts.push((record as Record<string, string>)[key]);
  }
  if (texts.length === 0) throw new TextFileError(`${fileName} has no records.`);
  return texts.join('\n\n');
}

export function textFromContent(content: string, fileName: string): string {
  if (/\.jsonl$/i.test(fileName)) return textFromJsonLines(content, fileName);
  if (content.includes('\u0000')) {
    throw new TextFileError(`${fileName} looks like a binary file, not text. Use a .txt or .jsonl file.`);
  }
  return content;
}

export async function readTextInput(file: Blob, fileName: string): Promise<string> {
  if (file.size > MAX_TEXT_BYTES) {
    throw new TextFileError(
      `${fileName} is ${(file.size / 2 ** 20).toFixed(0)} MB; use a text under ${MAX_TEXT_BYTES / 2 ** 20} MB ` +
        '(a few MB is plenty for calibration).',
    );
  }
  let content: string;
  try {
    content = new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
  } catch {
    throw new TextFileError(`${fileName} is not UTF-8 text. Use a .txt or .jsonl file.`);
  }
  const text = textFromContent(content, fileName);
  if (!text.trim()) throw new TextFileError(`${fileName} is empty.`);
  return text;
}

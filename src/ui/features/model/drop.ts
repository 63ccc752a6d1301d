/**
 * Turns what the user dropped or picked into named files: a whole folder (dragged from a file manager, read through
 * webkitGetAsEntry), loose files, or a directory chosen with <input webkitdirectory>. The common top folder becomes
 * the model's name and is stripped from the paths.
 */
import type { ModelFileInput } from '../../../worker/api';

export interface CollectedFiles {
  /** The dropped folder's name, or undefined for loose files. */
  folderName?: string;
  files: ModelFileInput[];
}

export class DropError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DropError';
  }
}

function readDirectory(directory: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = directory.createReader();
  const all: FileSystemEntry[] = [];
  return new Promise((resolve, reject) => {
    // readEntries returns at most ~100 entries per call; an empty batch means the end.
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walkEntry(entry: FileSystemEntry, prefix: string, out: ModelFileInput[]): Promise<void> {
  if (entry.isFile) {
    out.push({ path: `${prefix}${entry.name}`, file: await entryFile(entry as FileSystemFileEntry) });
  } else if (entry.isDirectory) {
    for (const child of await readDirectory(entry as FileSystemDirectoryEntry)) {
      await walkEntry(child, `${prefix}${entry.name}/`, out);
    }
  }
}

/** Paths relative to the one common top folder, when there is one. */
export function stripCommonFolder(files: ModelFileInput[]): CollectedFiles {
  const tops = new Set(files.map((f) => (f.path.includes('/') ? f.path.slice(0, f.path.indexOf('/')) : '')));
  const [top] = tops;
  if (tops.size !== 1 || !top) return { files };
  return { folderName: top, files: files.map((f) => ({ path: f.path.slice(top.length + 1), file: f.file })) };
}

function isHidden(path: string): boolean {
  return path.split('/').some((part) => part.startsWith('.'));
}

/**
 * Must be called synchronously inside the drop handler: DataTransfer items stop being readable once the event
 * handler returns, so the entries are taken first and read afterwards.
 */
export function collectDroppedFiles(data: DataTransfer): Promise<CollectedFiles> {
  const entries: FileSystemEntry[] = [];
  for (const item of Array.from(data.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) entries.push(entry);
  }
  // Synthetic drops (and some browsers) give files without entries.
  const looseFiles = Array.from(data.files ?? []);
  return (async () => {
    const files: ModelFileInput[] = [];
    if (entries.length > 0) {
      for (const entry of entries) await walkEntry(entry, '', files);
    } else {
      // Files handed over with their place in a folder (a page or extension building the drop) keep it.
      for (const file of looseFiles) files.push({ path: file.webkitRelativePath || file.name, file });
    }
    const visible = files.filter((f) => !isHidden(f.path));
    if (visible.length === 0) {
      throw new DropError(
        files.length === 0
          ? 'Nothing readable was dropped. Drop a model folder, its files, or a .txt/.jsonl text.'
          : 'The dropped folder holds only hidden files (names starting with "."); drop the model folder itself.',
      );
    }
    return stripCommonFolder(visible);
  })();
}

/** Files from <input type="file" multiple> or <input webkitdirectory> (which sets webkitRelativePath). */
export function collectPickedFiles(list: FileList | File[]): CollectedFiles {
  const files = Array.from(list)
    .map((file) => ({ path: file.webkitRelativePath || file.name, file }))
    .filter((f) => !isHidden(f.path));
  if (files.length === 0) throw new DropError('No files were selected (hidden files are ignored).');
  return stripCommonFolder(files);
}

const TEXT_FILE = /\.(txt|jsonl|md|text)$/i;

/** A drop of only text files is a calibration text, not a model. */
export function isTextOnly(collected: CollectedFiles): boolean {
  return collected.files.length > 0 && collected.files.every((f) => TEXT_FILE.test(f.path));
}

/** Texts shipped inside a model folder (the demo has these), by the names the demo uses. */
export function bundledTexts(collected: CollectedFiles): {
  calibration?: ModelFileInput;
  evaluation?: ModelFileInput;
} {
  const find = (pattern: RegExp) =>
    collected.files.find((f) => !f.path.includes('/') && pattern.test(f.path));
  return { calibration: find(/^calibration\.(txt|jsonl)$/i), evaluation: find(/^evaluation\.(txt|jsonl)$/i) };
}

/** How the files reached the page, for messages that say what the user did. */
export type HowGiven = 'dropped' | 'selected';

/** "stories260K", "photo.png" or "3 files": what the page says it is reading. */
export function collectedLabel(collected: CollectedFiles): string {
  if (collected.folderName) return collected.folderName;
  if (collected.files.length === 1) return collected.files[0].path;
  return `${collected.files.length} files`;
}

function hasConfig(collected: CollectedFiles): boolean {
  return collected.files.some((f) => f.path === 'config.json' || f.path.endsWith('/config.json'));
}

/**
 * Why the files are not a model at all (no config.json anywhere), in words that say what was dropped or selected;
 * undefined when they may be one (the worker then says what else is missing, or where a nested config.json is).
 */
export function notAModel(collected: CollectedFiles, how: HowGiven): string | undefined {
  if (hasConfig(collected)) return undefined;
  const what = collected.folderName
    ? `The ${how} folder ${collected.folderName} has no config.json, so it is not a Hugging Face model folder.`
    : collected.files.length === 1
      ? `The ${how} file ${collected.files[0].path} is neither a model folder (there is no config.json) nor a ` +
        'text file.'
      : `The ${collected.files.length} ${how} files have no config.json among them, so they are not a Hugging ` +
        'Face model.';
  const verb = how === 'dropped' ? 'Drop' : 'Choose';
  return (
    `${what} ${verb} the folder of a model (config.json, tokenizer.json and the .safetensors weights), or a ` +
    '.txt / .jsonl text for calibration.'
  );
}

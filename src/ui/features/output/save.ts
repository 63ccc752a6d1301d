/**
 * Saving a pruned model from browser storage (OPFS) to where the user wants it. One .gguf file is downloaded as it
 * is. A model folder: with the File System Access API the files are streamed one by one into a new folder inside a
 * folder the user picks; elsewhere the folder is downloaded as one ZIP (stored, assembled from the disk-backed OPFS
 * Files, so it never sits in memory).
 */
import { listRunFiles } from '../../../browser/opfs';
import { zipBlobs } from './zip';

interface DirectoryPickerWindow {
  showDirectoryPicker?(options?: {
    id?: string;
    mode?: 'read' | 'readwrite';
    startIn?: string;
  }): Promise<FileSystemDirectoryHandle>;
}

export type SaveOutcome =
  | { kind: 'folder'; folder: string; files: number; bytes: number }
  | { kind: 'file'; fileName: string; bytes: number }
  | { kind: 'zip'; fileName: string; bytes: number }
  | { kind: 'cancelled' };

export function canSaveIntoFolder(): boolean {
  return typeof (window as DirectoryPickerWindow).showDirectoryPicker === 'function';
}

async function writeInto(parent: FileSystemDirectoryHandle, path: string, file: File): Promise<void> {
  const parts = path.split('/');
  const name = parts.pop() as string;
  let directory = parent;
  for (const part of parts) directory = await directory.getDirectoryHandle(part, { create: true });
  const handle = await directory.getFileHandle(name, { create: true });
  const writable = await handle.createWritable();
  try {
    // pipeTo closes the writable when the file is done, which commits it; on failure the writable is aborted
    // and the destination keeps no half-written file.
    await file.stream().pipeTo(writable);
  } catch (error) {
    await writable.abort().catch(() => undefined);
    throw error;
  }
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/** Streams each file of the run into `<picked folder>/<downloadName>/`. */
async function saveIntoPickedFolder(
  runFolder: string,
  downloadName: string,
  onProgress: (done: number, total: number) => void,
): Promise<SaveOutcome> {
  const picker = (window as DirectoryPickerWindow).showDirectoryPicker as NonNullable<
    DirectoryPickerWindow['showDirectoryPicker']
  >;
  let picked: FileSystemDirectoryHandle;
  try {
    picked = await picker({ id: 'sparsegpt-output', mode: 'readwrite', startIn: 'downloads' });
  } catch (error) {
    if (isAbort(error)) return { kind: 'cancelled' };
    throw error;
  }
  const files = await listRunFiles(runFolder);
  const total = files.reduce((sum, f) => sum + f.file.size, 0);
  const target = await picked.getDirectoryHandle(downloadName, { create: true });
  let done = 0;
  for (const { path, file } of files) {
    await writeInto(target, path, file);
    done += file.size;
    onProgress(done, total);
  }
  return { kind: 'folder', folder: `${picked.name}/${downloadName}`, files: files.length, bytes: total };
}

export function triggerDownload(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the URL by now; revoking later keeps slow starts safe.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function downloadAsZip(
  runFolder: string,
  downloadName: string,
  onProgress: (done: number, total: number) => void,
): Promise<SaveOutcome> {
  const files = await listRunFiles(runFolder);
  const zip = await zipBlobs(
    files.map(({ path, file }) => ({ path: `${downloadName}/${path}`, blob: file })),
    onProgress,
  );
  const fileName = `${downloadName}.zip`;
  triggerDownload(zip, fileName);
  return { kind: 'zip', fileName, bytes: zip.size };
}

/** The one file of a run whose output is a single .gguf, or undefined for a model folder. */
export function singleGguf<T extends { path: string }>(files: readonly T[]): T | undefined {
  return files.length === 1 && files[0].path.toLowerCase().endsWith('.gguf') ? files[0] : undefined;
}

export async function saveRunOutput(
  runFolder: string,
  downloadName: string,
  onProgress: (done: number, total: number) => void = () => undefined,
): Promise<SaveOutcome> {
  // One GGUF file is handed over as it is (a disk-backed File, streamed by the browser), never zipped.
  const gguf = singleGguf(await listRunFiles(runFolder));
  if (gguf) {
    const fileName = `${downloadName}.gguf`;
    triggerDownload(gguf.file, fileName);
    onProgress(gguf.file.size, gguf.file.size);
    return { kind: 'file', fileName, bytes: gguf.file.size };
  }
  if (canSaveIntoFolder()) return saveIntoPickedFolder(runFolder, downloadName, onProgress);
  return downloadAsZip(runFolder, downloadName, onProgress);
}

/** Downloads one file of a run as it is (for people who want just the weights or the config). */
export async function downloadRunFile(runFolder: string, downloadName: string, path: string): Promise<void> {
  const files = await listRunFiles(runFolder);
  const found = files.find((f) => f.path === path);
  if (!found) throw new Error(`${path} is no longer in browser storage.`);
  triggerDownload(found.file, `${downloadName}-${path.replaceAll('/', '-')}`);
}

/**
 * One GGUF file written into a run's folder in the origin private file system (in the worker): under a hidden
 * temporary name through a sync access handle, re-read and checked against the plan (size, header, tensor table),
 * and only then renamed to its name; on any failure or stop the temporary file is removed and nothing is left.
 */
import { type GgufExportPlan, verifyGgufExport, writeGgufExport } from '../core/gguf/export';
import { blobByteSource } from '../core/io/bytes';
import { directorySinkFactory } from './files';

/** What the run's folder holds when the output is one GGUF file. */
export const GGUF_OUTPUT_FILE = 'model.gguf';

/** FileSystemHandle.move (Chromium 110+ in OPFS) is not in TypeScript's DOM types yet. */
type MovableFileHandle = FileSystemFileHandle & { move(name: string): Promise<void> };

export async function writeGgufIntoFolder(
  directory: FileSystemDirectoryHandle,
  fileName: string,
  plan: GgufExportPlan,
  signal?: AbortSignal,
): Promise<void> {
  const staging = `.${fileName}.partial`;
  try {
    const sink = await directorySinkFactory(directory, { syncAccess: true })(staging);
    await writeGgufExport(sink, plan, undefined, signal);
    const handle = (await directory.getFileHandle(staging)) as MovableFileHandle;
    await verifyGgufExport(blobByteSource(await handle.getFile(), fileName), plan);
    await handle.move(fileName);
  } catch (error) {
    await directory.removeEntry(staging).catch(() => undefined);
    throw error;
  }
}

/**
 * The tensor spill (src/core/io/tensor-spill.ts) in the origin private file system, through a sync access handle
 * (dedicated workers only): a hidden file in the run's folder, removed when the run ends however it ends.
 */
import { type SpillStorage, TensorSpill } from '../core/io/tensor-spill';

export async function createOpfsTensorSpill(
  directory: FileSystemDirectoryHandle,
  name: string,
): Promise<TensorSpill> {
  const file = await directory.getFileHandle(name, { create: true });
  const handle = await file.createSyncAccessHandle();
  handle.truncate(0);
  let open = true;
  const storage: SpillStorage = {
    name,
    async writeAt(position, bytes) {
      let done = 0;
      while (done < bytes.byteLength) {
        const n = handle.write(bytes.subarray(done) as Uint8Array<ArrayBuffer>, { at: position + done });
        if (n <= 0) throw new Error(`${name}: the browser's storage accepted no more bytes (is it full?)`);
        done += n;
      }
    },
    async readAt(position, target) {
      return handle.read(target as Uint8Array<ArrayBuffer>, { at: position });
    },
    async remove() {
      if (open) {
        open = false;
        handle.close();
      }
      await directory.removeEntry(name).catch(() => undefined);
    },
  };
  return new TensorSpill(storage);
}

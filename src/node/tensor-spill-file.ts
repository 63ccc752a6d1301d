/** The tensor spill (src/core/io/tensor-spill.ts) in a Node file: one temporary file beside the output. */
import { open, rm } from 'node:fs/promises';
import { type SpillStorage, TensorSpill } from '../core/io/tensor-spill';

/** Creates the spill file at `path`, which must not exist (a temporary name of the caller's). */
export async function createTensorSpillFile(path: string): Promise<TensorSpill> {
  const handle = await open(path, 'wx+');
  const storage: SpillStorage = {
    name: path,
    async writeAt(position, bytes) {
      let done = 0;
      while (done < bytes.byteLength) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position + done);
        done += bytesWritten;
      }
    },
    async readAt(position, target) {
      let done = 0;
      while (done < target.byteLength) {
        const { bytesRead } = await handle.read(target, done, target.byteLength - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    },
    async remove() {
      await handle.close().catch(() => undefined);
      await rm(path, { force: true });
    },
  };
  return new TensorSpill(storage);
}

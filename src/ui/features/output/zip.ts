/**
 * A pruned model folder as one ZIP download, for browsers that cannot write into a folder the user picks. The
 * archive is stored (weights do not compress), ZIP64 where sizes or offsets pass 4 GiB, and streamed by client-zip
 * from the disk-backed OPFS Files: each file is read once, through its CRC-32. The stream is collected by
 * Response.blob(), which Chromium (BlobBuilderFromStream) and Firefox (MutableBlobStorage) move to a temporary
 * file once it is large, so the page never holds a model-sized buffer.
 */
import { downloadZip } from 'client-zip';

export interface ZipEntry {
  /** Path inside the archive, '/'-separated ("stories260K-sparsegpt-2of4/model.safetensors"). */
  path: string;
  blob: Blob;
}

/** The blob's bytes, counted as they are read (for a progress bar on big models). */
function counted(blob: Blob, onBytes: (bytes: number) => void): ReadableStream<Uint8Array> {
  return blob.stream().pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onBytes(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
}

/** Builds the archive. `onProgress` gets the bytes read so far and the total. */
export async function zipBlobs(
  entries: ZipEntry[],
  onProgress?: (done: number, total: number) => void,
  now = new Date(),
): Promise<Blob> {
  const total = entries.reduce((sum, e) => sum + e.blob.size, 0);
  let done = 0;
  const files = entries.map(({ path, blob }) => ({
    name: path,
    lastModified: now,
    size: blob.size,
    input: counted(blob, (bytes) => {
      done += bytes;
      onProgress?.(done, total);
    }),
  }));
  // The metadata lets client-zip size the archive up front (Content-Length), and decide on ZIP64 exactly.
  const metadata = entries.map(({ path, blob }) => ({ name: path, size: blob.size }));
  return downloadZip(files, { metadata }).blob();
}

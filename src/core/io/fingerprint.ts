/**
 * Content fingerprints: what tells two models (or two calibration texts) apart before saved work is reused, in
 * the CLI's resume and in the browser's re-pick check alike.
 *
 * A model's fingerprint is a SHA-256 over
 * - config.json and every tokenizer file present (whole: they decide the forward pass and the calibration tokens);
 * - each safetensors file's name, size and whole header (every tensor's name, dtype, shape and offsets, and the
 *   __metadata__), and the index file whole;
 * - sampled bytes of every tensor: the whole tensor when it is at most 3 × SAMPLE_BYTES, otherwise SAMPLE_BYTES at
 *   its start, middle and end.
 * Two fine-tunes of one base differ in almost every byte of their weights and so in the samples; the cost is a few
 * reads per tensor (about 9 MB for a 70B model), never a pass over the weights. A change confined to bytes between
 * the samples (a single edited weight in the middle of a large tensor) is not seen: the fingerprint guards against
 * picking another model, not against deliberate tampering.
 *
 * WebCrypto (in the worker and in Node) has no streaming digest, so long inputs are hashed in pieces and chained:
 * h ← SHA-256(h ‖ piece).
 */
import type { ByteSource } from './bytes';
import type { Checkpoint } from './checkpoint';
import type { ModelFolder } from './folder';
import { MODEL_FORWARD_FILES } from './model-files';
import type { SafetensorsHeader, TensorInfo } from './safetensors-header';

/** Bytes read at each sampled place of a large tensor. */
export const SAMPLE_BYTES = 4096;
/** Hashed pieces are gathered up to this size before they are fed to the digest. */
const PIECE_BYTES = 1 << 20;
/** Reads of adjacent sampled ranges are merged up to this size. */
const READ_BYTES = 4 << 20;

const encoder = new TextEncoder();

function toHex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** SHA-256 of bytes or of a string's UTF-8, as 64 hex digits. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  return toHex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/** A SHA-256 fed piece by piece, chained so no more than PIECE_BYTES is held at once. */
export class ChainedHash {
  private state = new Uint8Array(32);
  private buffer = new Uint8Array(PIECE_BYTES);
  private used = 0;

  async add(data: Uint8Array | string): Promise<void> {
    let bytes = typeof data === 'string' ? encoder.encode(data) : data;
    while (bytes.byteLength > 0) {
      const take = Math.min(bytes.byteLength, PIECE_BYTES - this.used);
      this.buffer.set(bytes.subarray(0, take), this.used);
      this.used += take;
      bytes = bytes.subarray(take);
      if (this.used === PIECE_BYTES) await this.flush();
    }
  }

  /** Adds a string as a length-prefixed record, so that "ab" + "c" and "a" + "bc" hash differently. */
  async field(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    await this.add(`${bytes.byteLength}:`);
    await this.add(bytes);
  }

  async hex(): Promise<string> {
    await this.flush();
    return toHex(this.state.buffer);
  }

  private async flush(): Promise<void> {
    const input = new Uint8Array(32 + this.used);
    input.set(this.state);
    input.set(this.buffer.subarray(0, this.used), 32);
    this.state = new Uint8Array(await crypto.subtle.digest('SHA-256', input));
    this.used = 0;
  }
}

/** The byte ranges of a tensor that go into the fingerprint, absolute in its file. */
function sampledRanges(tensor: TensorInfo): [number, number][] {
  const { byteStart: start, byteEnd: end } = tensor;
  if (end - start <= 3 * SAMPLE_BYTES) return end > start ? [[start, end]] : [];
  const middle = start + Math.floor((end - start - SAMPLE_BYTES) / 2);
  return [
    [start, start + SAMPLE_BYTES],
    [middle, middle + SAMPLE_BYTES],
    [end - SAMPLE_BYTES, end],
  ];
}

/** Sorted ranges with touching ones merged (small tensors lie back to back), each at most READ_BYTES long. */
function mergedReads(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const reads: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = reads[reads.length - 1];
    if (last && start <= last[1] && end - last[0] <= READ_BYTES) last[1] = Math.max(last[1], end);
    else reads.push([start, end]);
  }
  return reads;
}

async function hashFile(hash: ChainedHash, source: ByteSource): Promise<void> {
  await hash.field(`file ${source.name} ${source.size}`);
  for (let offset = 0; offset < source.size; offset += READ_BYTES) {
    await hash.add(await source.read(offset, Math.min(READ_BYTES, source.size - offset)));
  }
}

async function hashWeights(hash: ChainedHash, source: ByteSource, header: SafetensorsHeader): Promise<void> {
  await hash.field(`weights ${header.file} ${header.fileSize}`);
  await hash.add(await source.read(0, header.dataStart));
  for (const [start, end] of mergedReads(header.tensors.flatMap(sampledRanges))) {
    await hash.add(await source.read(start, end - start));
  }
}

/** The fingerprint of an opened model: 64 hex digits. */
export async function modelFingerprint(folder: ModelFolder, checkpoint: Checkpoint): Promise<string> {
  const hash = new ChainedHash();
  await hash.field('sparsegpt model fingerprint v1');
  for (const name of MODEL_FORWARD_FILES) {
    const source = folder.files.get(name);
    if (source) await hashFile(hash, source);
  }
  if (checkpoint.index) await hashFile(hash, checkpoint.source(checkpoint.index.file));
  for (const header of checkpoint.files) await hashWeights(hash, checkpoint.source(header.file), header);
  return hash.hex();
}

/**
 * Float32 tensors kept in one scratch file while a run goes, so that a whole model never has to sit in memory: the
 * pruner appends each solved linear as it finishes, and the GGUF writer reads them back (whole, or a range of rows)
 * once every block is done. The bookkeeping lives here once; the file is the platform's (a Node file,
 * src/node/tensor-spill-file.ts; an OPFS sync access handle in the worker, src/browser/opfs-spill.ts).
 */

/** Positioned reads and writes on one scratch file, and its removal. */
export interface SpillStorage {
  /** Where the file is, for messages. */
  readonly name: string;
  writeAt(position: number, bytes: Uint8Array): Promise<void>;
  /** Reads into `target` from `position`; resolves with the bytes read (fewer at the end of the file). */
  readAt(position: number, target: Uint8Array): Promise<number>;
  /** Closes and deletes the file; safe to call twice and after a failure. */
  remove(): Promise<void>;
}

interface Entry {
  offset: number;
  length: number;
  rows: number;
}

export class TensorSpill {
  private readonly entries = new Map<string, Entry>();
  private end = 0;

  constructor(private readonly storage: SpillStorage) {}

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Appends `values` ([rows, …] row-major) under `name`. */
  async put(name: string, values: Float32Array, rows: number): Promise<void> {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    await this.storage.writeAt(this.end, bytes);
    this.entries.set(name, { offset: this.end, length: values.length, rows });
    this.end += bytes.byteLength;
  }

  /** The tensor's values, or rows [start, end) of it. */
  async read(name: string, range?: { start: number; end: number }): Promise<Float32Array> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${name} was not kept in ${this.storage.name}`);
    const perRow = entry.length / entry.rows;
    const [first, last] = range ? [range.start, range.end] : [0, entry.rows];
    const out = new Float32Array((last - first) * perRow);
    const target = new Uint8Array(out.buffer);
    const read = await this.storage.readAt(entry.offset + first * perRow * 4, target);
    if (read !== target.byteLength) throw new Error(`${this.storage.name} ended early reading ${name}`);
    return out;
  }

  /** Deletes the scratch file (also after a failed run). */
  remove(): Promise<void> {
    return this.storage.remove();
  }
}

/**
 * Float32 tensors kept on disk while a run goes, so that a whole model never has to sit in memory: the pruner
 * appends each solved linear as it finishes, and the GGUF writer reads them back (whole, or a range of rows) once
 * every block is done. One temporary file; `remove` deletes it.
 */
import { type FileHandle, open, rm } from 'node:fs/promises';

interface Entry {
  offset: number;
  length: number;
  rows: number;
}

export class TensorSpillFile {
  private readonly entries = new Map<string, Entry>();
  private end = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Creates the file; it must not exist (a temporary name of the caller's). */
  static async create(path: string): Promise<TensorSpillFile> {
    return new TensorSpillFile(path, await open(path, 'wx+'));
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Appends `values` ([rows, …] row-major) under `name`. */
  async put(name: string, values: Float32Array, rows: number): Promise<void> {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    await this.handle.write(bytes, 0, bytes.byteLength, this.end);
    this.entries.set(name, { offset: this.end, length: values.length, rows });
    this.end += bytes.byteLength;
  }

  /** The tensor's values, or rows [start, end) of it. */
  async read(name: string, range?: { start: number; end: number }): Promise<Float32Array> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${name} was not kept in ${this.path}`);
    const perRow = entry.length / entry.rows;
    const [first, last] = range ? [range.start, range.end] : [0, entry.rows];
    const out = new Float32Array((last - first) * perRow);
    const target = new Uint8Array(out.buffer);
    const { bytesRead } = await this.handle.read(
      target,
      0,
      target.byteLength,
      entry.offset + first * perRow * 4,
    );
    if (bytesRead !== target.byteLength) throw new Error(`${this.path} ended early reading ${name}`);
    return out;
  }

  /** Closes and deletes the file (also after a failed run). */
  async remove(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

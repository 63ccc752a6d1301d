/**
 * Recording GPU work: many small dispatches in few command buffers, each dispatch with its own uniform
 * parameters, the buffers the work needs, and (for the solver) GPU time per named step.
 *
 * Uniform parameters come from 256-byte slots of a few large buffers (ParamArena): queue.writeBuffer lands before
 * the whole command buffer, so dispatches cannot share one uniform buffer rewritten between them. Dispatches go
 * into one compute pass until a copy, a step or a submit ends it (WebGPU orders dispatches within a pass and
 * makes each one's writes visible to the next). Steps are compute passes timed by timestamp queries where the
 * adapter has them, else by the wall clock around passes submitted on their own; a recorder hands its work to the
 * GPU every few steps, so the GPU starts early and command buffers stay small.
 */
import { createStorageBuffer } from './buffers';
import type { GpuContext } from './context';
import { BufferUsage, MapMode } from './flags';
import { bindResources, dispatchIn, type Resource } from './pipelines';

/** A uniform word: plain numbers are u32, `{ f32 }` marks a float (a scale of exactly 1 is still an f32). */
export type ParamWord = number | { f32: number };

export const f32 = (value: number): ParamWord => ({ f32: value });

const SLOT_BYTES = 256;
const SLOTS_PER_PAGE = 256;

interface ParamPage {
  buffer: GPUBuffer;
  data: ArrayBuffer;
  used: number;
  written: number;
}

/** Hands out one 256-byte uniform slot per dispatch from a few large buffers. */
export class ParamArena {
  private pages: ParamPage[] = [];

  constructor(
    private readonly ctx: GpuContext,
    private readonly label: string,
  ) {}

  slot(words: ParamWord[]): GPUBufferBinding {
    if (words.length * 4 > SLOT_BYTES) throw new RangeError(`${this.label}: too many uniform words`);
    let page = this.pages[this.pages.length - 1];
    if (!page || page.used === SLOTS_PER_PAGE) {
      page = {
        buffer: this.ctx.device.createBuffer({
          size: SLOT_BYTES * SLOTS_PER_PAGE,
          usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
          label: `${this.label}.params`,
        }),
        data: new ArrayBuffer(SLOT_BYTES * SLOTS_PER_PAGE),
        used: 0,
        written: 0,
      };
      this.pages.push(page);
    }
    const offset = page.used * SLOT_BYTES;
    const asU32 = new Uint32Array(page.data, offset, SLOT_BYTES / 4);
    const asF32 = new Float32Array(page.data, offset, SLOT_BYTES / 4);
    words.forEach((word, i) => {
      if (typeof word === 'number') {
        if (!Number.isInteger(word) || word < 0 || word > 0xffffffff) {
          throw new RangeError(`${this.label}: uniform word ${i} = ${word} is not a u32`);
        }
        asU32[i] = word;
      } else {
        asF32[i] = word.f32;
      }
    });
    page.used++;
    return { buffer: page.buffer, offset, size: SLOT_BYTES };
  }

  /** Uploads the slots handed out since the last flush; call before submitting the commands that use them. */
  flush(): void {
    for (const page of this.pages) {
      if (page.written === page.used) continue;
      const from = page.written * SLOT_BYTES;
      this.ctx.device.queue.writeBuffer(
        page.buffer,
        from,
        page.data,
        from,
        (page.used - page.written) * SLOT_BYTES,
      );
      page.written = page.used;
    }
  }

  destroy(): void {
    for (const page of this.pages) page.buffer.destroy();
    this.pages = [];
  }
}

/** How a recorder measured its steps: GPU timestamps, or wall clock around separately submitted passes. */
export type TimingSource = 'timestamp' | 'wall-clock';

const QUERIES_PER_SET = 512;
/** Steps recorded between submissions (eight blocks of the solver's select, walk and lazy update). */
const STEPS_PER_SUBMIT = 24;

export class CommandRecorder {
  readonly timing: TimingSource;
  private readonly arena: ParamArena;
  private encoder: GPUCommandEncoder;
  private openPass?: GPUComputePassEncoder;
  private stepsSinceSubmit = 0;
  private querySets: GPUQuerySet[] = [];
  private queryLabels: string[] = [];
  private wallMs = new Map<string, number>();
  private owned: GPUBuffer[] = [];
  private transient: GPUBuffer[] = [];

  constructor(
    readonly ctx: GpuContext,
    private readonly label: string,
  ) {
    this.arena = new ParamArena(ctx, label);
    this.timing = ctx.features.timestampQuery ? 'timestamp' : 'wall-clock';
    this.encoder = ctx.device.createCommandEncoder({ label });
  }

  /** One dispatch's uniform parameters. */
  params(words: ParamWord[]): GPUBufferBinding {
    return this.arena.slot(words);
  }

  /** A storage buffer that lives as long as the recorder. */
  buffer(byteLength: number, label: string): GPUBuffer {
    const buffer = createStorageBuffer(this.ctx, byteLength, `${this.label}.${label}`);
    this.owned.push(buffer);
    return buffer;
  }

  /** Takes `buffer` until the next submit (intermediates of one step, id lists), then destroys it. */
  untilSubmit(buffer: GPUBuffer): GPUBuffer {
    this.transient.push(buffer);
    return buffer;
  }

  /** The encoder for commands outside compute passes (copies, clears); untimed. */
  get commands(): GPUCommandEncoder {
    this.endPass();
    return this.encoder;
  }

  /** One dispatch of `pipeline` with binding i = resources[i], in the step being recorded or the open pass. */
  dispatch(pipeline: GPUComputePipeline, resources: Resource[], x: number, y = 1, z = 1): void {
    this.openPass ??= this.encoder.beginComputePass({ label: this.label });
    dispatchIn(this.openPass, pipeline, bindResources(this.ctx, pipeline, resources), x, y, z);
  }

  /** Records the dispatches of `record` as one compute pass counted toward `step`. */
  async step(step: string, record: () => void): Promise<void> {
    this.endPass();
    if (this.timing === 'timestamp') {
      const index = this.queryLabels.length;
      const set = this.querySet(index);
      this.queryLabels.push(step);
      const local = (index % (QUERIES_PER_SET / 2)) * 2;
      this.openPass = this.encoder.beginComputePass({
        label: step,
        timestampWrites: { querySet: set, beginningOfPassWriteIndex: local, endOfPassWriteIndex: local + 1 },
      });
      record();
      this.endPass();
      if (++this.stepsSinceSubmit >= STEPS_PER_SUBMIT) this.submit();
      return;
    }
    await this.submitAndWait();
    const start = performance.now();
    this.openPass = this.encoder.beginComputePass({ label: step });
    record();
    this.endPass();
    await this.submitAndWait();
    this.wallMs.set(step, (this.wallMs.get(step) ?? 0) + performance.now() - start);
  }

  /** Hands what is recorded so far to the GPU so it starts while the CPU records more. */
  submit(): void {
    this.endPass();
    this.arena.flush();
    this.ctx.device.queue.submit([this.encoder.finish()]);
    // WebGPU frees a destroyed buffer only once the work already submitted with it has run.
    for (const buffer of this.transient) buffer.destroy();
    this.transient = [];
    this.stepsSinceSubmit = 0;
    this.encoder = this.ctx.device.createCommandEncoder({ label: this.label });
  }

  async submitAndWait(): Promise<void> {
    this.submit();
    await this.ctx.device.queue.onSubmittedWorkDone();
  }

  /** Submits everything, waits, and returns milliseconds per step. */
  async finish(): Promise<Record<string, number>> {
    this.endPass();
    const readback = this.timing === 'timestamp' ? this.resolveQueries() : undefined;
    await this.submitAndWait();
    const totals: Record<string, number> = {};
    if (readback) {
      await readback.mapAsync(MapMode.READ);
      const stamps = new BigUint64Array(readback.getMappedRange().slice(0));
      readback.unmap();
      readback.destroy();
      this.queryLabels.forEach((step, i) => {
        const set = Math.floor(i / (QUERIES_PER_SET / 2));
        const local = (i % (QUERIES_PER_SET / 2)) * 2;
        const begin = stamps[set * QUERIES_PER_SET + local];
        const end = stamps[set * QUERIES_PER_SET + local + 1];
        const ms = end > begin ? Number(end - begin) / 1e6 : 0;
        totals[step] = (totals[step] ?? 0) + ms;
      });
      this.queryLabels = [];
    }
    for (const [step, ms] of this.wallMs) totals[step] = (totals[step] ?? 0) + ms;
    this.wallMs.clear();
    return totals;
  }

  /** Frees the uniform slots, query sets and buffers; submit first what should still run. */
  destroy(): void {
    this.endPass();
    this.arena.destroy();
    for (const set of this.querySets) set.destroy();
    for (const buffer of [...this.owned, ...this.transient]) buffer.destroy();
    this.querySets = [];
    this.owned = [];
    this.transient = [];
  }

  private endPass(): void {
    this.openPass?.end();
    this.openPass = undefined;
  }

  private querySet(passIndex: number): GPUQuerySet {
    const needed = Math.floor(passIndex / (QUERIES_PER_SET / 2)) + 1;
    while (this.querySets.length < needed) {
      this.querySets.push(
        this.ctx.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET, label: this.label }),
      );
    }
    return this.querySets[needed - 1];
  }

  private resolveQueries(): GPUBuffer | undefined {
    if (this.queryLabels.length === 0) return undefined;
    const bytes = this.querySets.length * QUERIES_PER_SET * 8;
    const resolved = this.ctx.device.createBuffer({
      size: bytes,
      usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
      label: `${this.label}.timestamps`,
    });
    const readback = this.ctx.device.createBuffer({
      size: bytes,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      label: `${this.label}.timestamps.read`,
    });
    const used = this.queryLabels.length * 2;
    this.querySets.forEach((set, i) => {
      const count = Math.min(QUERIES_PER_SET, used - i * QUERIES_PER_SET);
      if (count > 0) this.encoder.resolveQuerySet(set, 0, count, resolved, i * QUERIES_PER_SET * 8);
    });
    this.encoder.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
    this.owned.push(resolved);
    return readback;
  }
}

/**
 * Recording one solver run: many small dispatches in few command buffers, each with its own uniform parameters
 * (queue.writeBuffer lands before the whole command buffer, so dispatches cannot share one uniform buffer that is
 * rewritten between them), and per-step GPU time from timestamp queries when the adapter has them.
 */
import { createStorageBuffer } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { BufferUsage, MapMode } from '../gpu/flags';

/** A uniform word: plain numbers are u32, `{ f32 }` marks a float. */
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

export function bindResources(
  ctx: GpuContext,
  pipeline: GPUComputePipeline,
  resources: Array<GPUBuffer | GPUBufferBinding>,
): GPUBindGroup {
  return ctx.device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: resources.map((resource, binding) => ({
      binding,
      resource: 'buffer' in resource ? resource : { buffer: resource },
    })),
  });
}

/** Splits a workgroup count over x and y when it exceeds the per-dimension limit; kernels rebuild the index. */
export function workgroupGrid(ctx: GpuContext, count: number): [number, number] {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [Math.max(count, 1), 1];
  const y = Math.ceil(count / max);
  return [Math.ceil(count / y), y];
}

export function dispatchIn(
  pass: GPUComputePassEncoder,
  pipeline: GPUComputePipeline,
  group: GPUBindGroup,
  x: number,
  y = 1,
): void {
  if (x === 0 || y === 0) return;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(x, y);
}

/** How a run measured its steps: GPU timestamps, or wall clock around separately submitted passes. */
export type TimingSource = 'timestamp' | 'wall-clock';

const QUERIES_PER_SET = 512;

export class GpuRun {
  readonly params: ParamArena;
  readonly timing: TimingSource;
  private encoder: GPUCommandEncoder;
  private querySets: GPUQuerySet[] = [];
  private queryLabels: string[] = [];
  private wallMs = new Map<string, number>();
  private scratch: GPUBuffer[] = [];

  constructor(
    private readonly ctx: GpuContext,
    private readonly label: string,
  ) {
    this.params = new ParamArena(ctx, label);
    this.timing = ctx.features.timestampQuery ? 'timestamp' : 'wall-clock';
    this.encoder = ctx.device.createCommandEncoder({ label });
  }

  /** A storage buffer that lives as long as the run. */
  buffer(byteLength: number, label: string): GPUBuffer {
    const buffer = createStorageBuffer(this.ctx, byteLength, `${this.label}.${label}`);
    this.scratch.push(buffer);
    return buffer;
  }

  /** Commands outside compute passes (copies, clears); untimed. */
  commands(record: (encoder: GPUCommandEncoder) => void): void {
    record(this.encoder);
  }

  /** Records one compute pass counted toward `step`. */
  async pass(step: string, record: (pass: GPUComputePassEncoder) => void): Promise<void> {
    if (this.timing === 'timestamp') {
      const index = this.queryLabels.length;
      const set = this.querySet(index);
      this.queryLabels.push(step);
      const local = (index % (QUERIES_PER_SET / 2)) * 2;
      const pass = this.encoder.beginComputePass({
        label: step,
        timestampWrites: { querySet: set, beginningOfPassWriteIndex: local, endOfPassWriteIndex: local + 1 },
      });
      record(pass);
      pass.end();
      return;
    }
    await this.submitAndWait();
    const start = performance.now();
    const pass = this.encoder.beginComputePass({ label: step });
    record(pass);
    pass.end();
    await this.submitAndWait();
    this.wallMs.set(step, (this.wallMs.get(step) ?? 0) + performance.now() - start);
  }

  /** Hands what is recorded so far to the GPU so it starts while the CPU records more. */
  submit(): void {
    this.params.flush();
    this.ctx.device.queue.submit([this.encoder.finish()]);
    this.encoder = this.ctx.device.createCommandEncoder({ label: this.label });
  }

  async submitAndWait(): Promise<void> {
    this.submit();
    await this.ctx.device.queue.onSubmittedWorkDone();
  }

  /** Submits everything, waits, and returns milliseconds per step. */
  async finish(): Promise<Record<string, number>> {
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

  destroy(): void {
    this.params.destroy();
    for (const set of this.querySets) set.destroy();
    for (const buffer of this.scratch) buffer.destroy();
    this.querySets = [];
    this.scratch = [];
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
    this.scratch.push(resolved);
    return readback;
  }
}

/** Reads a u32 buffer back to the CPU. */
export async function readUint32(ctx: GpuContext, buffer: GPUBuffer, count: number): Promise<Uint32Array> {
  const staging = ctx.device.createBuffer({
    size: Math.max(4, count * 4),
    usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    label: 'readback.u32',
  });
  const encoder = ctx.device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, count * 4);
  ctx.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(MapMode.READ);
  const out = new Uint32Array(staging.getMappedRange(0, count * 4).slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

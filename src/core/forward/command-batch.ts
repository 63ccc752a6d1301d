/**
 * Records the dispatches of one forward step into a command encoder, with the small per-dispatch uniform buffers
 * they need, and submits them together. Uniform buffers are destroyed right after submission (WebGPU keeps them
 * alive until the queued work that uses them has run).
 */
import { align } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import { BufferUsage } from '../gpu/flags';
import { bindGroup, dispatch } from '../gpu/pipelines';

export class CommandBatch {
  private encoder: GPUCommandEncoder;
  private transient: GPUBuffer[] = [];

  constructor(readonly ctx: GpuContext) {
    this.encoder = ctx.device.createCommandEncoder();
  }

  get commands(): GPUCommandEncoder {
    return this.encoder;
  }

  /**
   * A uniform struct of u32 words followed by f32 words, in that order. Typed explicitly because a float such as
   * a scale of exactly 1 must still be written as f32.
   */
  uniform(label: string, u32: number[], f32: number[] = []): GPUBuffer {
    const words = u32.length + f32.length;
    const data = new ArrayBuffer(Math.max(16, align(words * 4, 16)));
    const asU32 = new Uint32Array(data);
    const asF32 = new Float32Array(data);
    u32.forEach((value, i) => {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw new RangeError(`${label}: uniform word ${i} must be a u32, got ${value}`);
      }
      asU32[i] = value;
    });
    f32.forEach((value, i) => {
      asF32[u32.length + i] = value;
    });
    const buffer = this.ctx.device.createBuffer({
      size: data.byteLength,
      usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      label,
    });
    this.ctx.device.queue.writeBuffer(buffer, 0, data);
    this.transient.push(buffer);
    return buffer;
  }

  /** A buffer that lives until the next submit (intermediates of a single step, id lists). */
  scratch(buffer: GPUBuffer): GPUBuffer {
    this.transient.push(buffer);
    return buffer;
  }

  run(pipeline: GPUComputePipeline, buffers: GPUBuffer[], groups: [number, number, number]): void {
    dispatch(this.encoder, pipeline, bindGroup(this.ctx, pipeline, buffers), ...groups);
  }

  submit(): void {
    this.ctx.device.queue.submit([this.encoder.finish()]);
    for (const buffer of this.transient) buffer.destroy();
    this.transient = [];
    this.encoder = this.ctx.device.createCommandEncoder();
  }
}

const MAX_GROUPS_PER_DIMENSION = 65535;

/**
 * Workgroup counts for `count` independent work items of `perGroup` each, spread over x and y because one
 * dimension holds at most 65535 workgroups (kernels number items as (y·num_workgroups.x + x)·perGroup + lane).
 */
export function grid(count: number, perGroup = 1): [number, number, number] {
  const groups = Math.max(1, Math.ceil(count / perGroup));
  const x = Math.min(groups, MAX_GROUPS_PER_DIMENSION);
  const y = Math.ceil(groups / x);
  if (y > MAX_GROUPS_PER_DIMENSION) {
    throw new RangeError(
      `${count} work items are more than one dispatch can cover; split the work into chunks`,
    );
  }
  return [x, y, 1];
}

/** Workgroups along one dimension, with a clear error past the WebGPU maximum. */
export function groupsAlong(count: number, perGroup: number, what: string): number {
  const groups = Math.max(1, Math.ceil(count / perGroup));
  if (groups > MAX_GROUPS_PER_DIMENSION) {
    throw new RangeError(
      `${what}: ${count} is too large for one dispatch (at most ${MAX_GROUPS_PER_DIMENSION * perGroup}); use smaller chunks`,
    );
  }
  return groups;
}

/** Zero-filled stand-in bound where a kernel's optional input (bias, residual) is absent. One per device. */
const placeholders = new WeakMap<GPUDevice, GPUBuffer>();

export function placeholderBuffer(ctx: GpuContext): GPUBuffer {
  let buffer = placeholders.get(ctx.device);
  if (!buffer) {
    buffer = ctx.device.createBuffer({
      size: 16,
      usage: BufferUsage.STORAGE | BufferUsage.COPY_DST,
      label: 'forward.placeholder',
    });
    placeholders.set(ctx.device, buffer);
  }
  return buffer;
}

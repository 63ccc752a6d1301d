/** Small helpers so kernel hosts read as the algorithm, not as WebGPU boilerplate. */
import type { GpuContext } from './context';
import { BufferUsage, MapMode } from './flags';

/** The most bytes one buffer can be bound as storage: both the binding and the buffer limit apply. */
export function bindingLimit(ctx: GpuContext): number {
  return Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
}

export const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export function createStorageBuffer(ctx: GpuContext, byteLength: number, label: string): GPUBuffer {
  if (byteLength > ctx.limits.maxBufferSize) {
    throw new RangeError(
      `${label} needs ${byteLength} bytes but this GPU allows at most ${ctx.limits.maxBufferSize} per buffer`,
    );
  }
  // Zero-sized buffers are legal but cannot be bound; keep 4 bytes so empty tensors still work.
  return ctx.device.createBuffer({ size: Math.max(4, align4(byteLength)), usage: STORAGE, label });
}

export function uploadFloat32(ctx: GpuContext, data: Float32Array, label: string): GPUBuffer {
  const buffer = createStorageBuffer(ctx, data.byteLength, label);
  ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

export function createUniformBuffer(ctx: GpuContext, words: ArrayLike<number>, label: string): GPUBuffer {
  const buffer = ctx.device.createBuffer({
    size: Math.max(16, align(words.length * 4, 16)),
    usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
    label,
  });
  writeUniform(ctx, buffer, words);
  return buffer;
}

/** Uniform structs here are all u32/f32 words; integers are written as u32, fractions as f32. */
export function writeUniform(ctx: GpuContext, buffer: GPUBuffer, words: ArrayLike<number>): void {
  const data = new ArrayBuffer(Math.max(16, align(words.length * 4, 16)));
  const asU32 = new Uint32Array(data);
  const asF32 = new Float32Array(data);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (Number.isInteger(w) && w >= 0) asU32[i] = w;
    else asF32[i] = w;
  }
  ctx.device.queue.writeBuffer(buffer, 0, data);
}

export async function readFloat32(ctx: GpuContext, buffer: GPUBuffer, count: number, offsetFloats = 0) {
  const byteLength = count * 4;
  const staging = ctx.device.createBuffer({
    size: Math.max(4, align4(byteLength)),
    usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    label: 'readback',
  });
  const encoder = ctx.device.createCommandEncoder();
  if (byteLength > 0) encoder.copyBufferToBuffer(buffer, offsetFloats * 4, staging, 0, byteLength);
  ctx.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(MapMode.READ);
  const out = new Float32Array(staging.getMappedRange(0, byteLength).slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

export function align4(n: number): number {
  return align(n, 4);
}

export function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** Creating, filling and reading back GPU buffers, so kernel hosts read as the algorithm, not as WebGPU boilerplate. */
import { addTo } from './activity';
import type { GpuContext } from './context';
import { BufferUsage, MapMode } from './flags';
import { requireBufferSize } from './limits';

export const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export function createStorageBuffer(ctx: GpuContext, byteLength: number, label: string): GPUBuffer {
  requireBufferSize(ctx, byteLength, label);
  // Zero-sized buffers are legal but cannot be bound; keep 4 bytes so empty tensors still work.
  return ctx.device.createBuffer({ size: Math.max(4, align4(byteLength)), usage: STORAGE, label });
}

/** A storage buffer holding `data` (f32, u32 or i32 values). */
export function uploadArray(
  ctx: GpuContext,
  data: Float32Array | Uint32Array | Int32Array,
  label: string,
): GPUBuffer {
  const buffer = createStorageBuffer(ctx, data.byteLength, label);
  ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

export function uploadFloat32(ctx: GpuContext, data: Float32Array, label: string): GPUBuffer {
  return uploadArray(ctx, data, label);
}

/** `count` f32 values of `buffer` from `offsetFloats` on, copied to the CPU. */
export async function readFloat32(
  ctx: GpuContext,
  buffer: GPUBuffer,
  count: number,
  offsetFloats = 0,
): Promise<Float32Array> {
  return new Float32Array(await readBytes(ctx, buffer, offsetFloats * 4, count * 4));
}

/** `count` u32 values from the start of `buffer`, copied to the CPU. */
export async function readUint32(ctx: GpuContext, buffer: GPUBuffer, count: number): Promise<Uint32Array> {
  return new Uint32Array(await readBytes(ctx, buffer, 0, count * 4));
}

async function readBytes(
  ctx: GpuContext,
  buffer: GPUBuffer,
  byteOffset: number,
  byteLength: number,
): Promise<ArrayBuffer> {
  const started = performance.now();
  const staging = ctx.device.createBuffer({
    size: Math.max(4, align4(byteLength)),
    usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    label: 'readback',
  });
  const encoder = ctx.device.createCommandEncoder();
  if (byteLength > 0) encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, byteLength);
  ctx.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(MapMode.READ);
  const bytes = staging.getMappedRange(0, byteLength).slice(0);
  staging.unmap();
  staging.destroy();
  addTo(ctx.activity.readbacks, byteLength, performance.now() - started);
  return bytes;
}

/** Zero-filled stand-in bound where a kernel's optional input (bias, residual) is absent. One per device. */
const placeholders = new WeakMap<GPUDevice, GPUBuffer>();

export function placeholderBuffer(ctx: GpuContext): GPUBuffer {
  let buffer = placeholders.get(ctx.device);
  if (!buffer) {
    buffer = ctx.device.createBuffer({
      size: 16,
      usage: BufferUsage.STORAGE | BufferUsage.COPY_DST,
      label: 'placeholder',
    });
    placeholders.set(ctx.device, buffer);
  }
  return buffer;
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

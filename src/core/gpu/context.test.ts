import { describe, expect, it } from 'vitest';
import { createNodeGpuContext } from '../../node/gpu';
import {
  chooseKernelTarget,
  createGpuContext,
  describeAdapter,
  type GpuLimits,
  WebGpuUnavailableError,
} from './context';

describe('GPU context', () => {
  it('reports a clear error when there is no WebGPU at all', async () => {
    await expect(createGpuContext(undefined)).rejects.toThrow(WebGpuUnavailableError);
    await expect(createGpuContext(undefined)).rejects.toThrow(/Chrome .*113/);
  });

  it('gives a GPU the tiled kernel forms, a software adapter or a GPU with small workgroups the register-tiled ones', () => {
    const adapter = {
      vendor: 'nvidia',
      architecture: '',
      device: '',
      description: '',
      isSoftware: false,
      name: 'nvidia',
    };
    const limits = {
      maxComputeInvocationsPerWorkgroup: 1024,
      maxComputeWorkgroupStorageSize: 49152,
    } as GpuLimits;
    expect(chooseKernelTarget(adapter, limits)).toBe('gpu');
    expect(chooseKernelTarget({ ...adapter, isSoftware: true }, limits)).toBe('cpu');
    expect(chooseKernelTarget(adapter, { ...limits, maxComputeInvocationsPerWorkgroup: 128 })).toBe('cpu');
    expect(chooseKernelTarget(adapter, { ...limits, maxComputeWorkgroupStorageSize: 8192 })).toBe('cpu');
  });

  it('reports a clear error when no adapter is found', async () => {
    const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
    await expect(createGpuContext(noAdapter)).rejects.toThrow(/No GPU adapter was found/);
  });

  it('requests the adapter limits and can lower them for tests', async () => {
    const ctx = await createNodeGpuContext({ testLimits: { maxStorageBufferBindingSize: 1 << 20 } });
    try {
      expect(ctx.limits.maxStorageBufferBindingSize).toBe(1 << 20);
      expect(ctx.device.limits.maxStorageBufferBindingSize).toBeGreaterThan(1 << 20);
      // The device gets the adapter's limits, not WebGPU's defaults (128 MiB binding, 16 KiB workgroup storage).
      expect(ctx.limits.maxBufferSize).toBe(ctx.device.limits.maxBufferSize);
      expect(ctx.adapter.name.length).toBeGreaterThan(0);
    } finally {
      ctx.destroy();
    }
  });

  it('counts live and peak GPU buffer bytes', async () => {
    const ctx = await createNodeGpuContext();
    try {
      const before = ctx.memory.current;
      const a = ctx.device.createBuffer({ size: 4096, usage: 0x80 });
      const b = ctx.device.createBuffer({ size: 1024, usage: 0x80 });
      expect(ctx.memory.current - before).toBe(5120);
      a.destroy();
      a.destroy();
      expect(ctx.memory.current - before).toBe(1024);
      expect(ctx.memory.peak - before).toBeGreaterThanOrEqual(5120);
      b.destroy();
      ctx.memory.resetPeak();
      expect(ctx.memory.peak).toBe(ctx.memory.current);
    } finally {
      ctx.destroy();
    }
  });

  it('names software adapters plainly', () => {
    const info = {
      vendor: 'google',
      architecture: 'swiftshader',
      device: '',
      description: '',
    } as GPUAdapterInfo;
    expect(describeAdapter(info, false)).toMatchObject({ isSoftware: true });
    expect(describeAdapter(info, false).name).toMatch(/software adapter/);
    const nvidia = {
      vendor: 'nvidia',
      architecture: 'hopper',
      device: '',
      description: '',
    } as GPUAdapterInfo;
    expect(describeAdapter(nvidia, false)).toMatchObject({ isSoftware: false, name: 'nvidia hopper' });
  });
});

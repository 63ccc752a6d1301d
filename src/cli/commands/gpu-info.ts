import { createNodeGpuContext } from '../../node/gpu';
import type { Command } from './index';

export const gpuInfo: Command = {
  name: 'gpu-info',
  summary: 'show the WebGPU adapter, its limits and features',
  usage: 'usage: sparsegpt gpu-info',
  async run() {
    const ctx = await createNodeGpuContext();
    console.log(`adapter:  ${ctx.adapter.name}`);
    for (const [name, value] of Object.entries(ctx.limits)) console.log(`${name.padEnd(36)} ${value}`);
    console.log(
      `features: ${Object.entries(ctx.features)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    ctx.destroy();
    return 0;
  },
};

/** `sparsegpt gpu-info`: the WebGPU adapter the CLI runs on, its limits and the optional features it has. */
import { createNodeGpuContext } from '../../node/gpu';
import type { Command } from '../command';
import { parseCommandLine } from '../options';

export const gpuInfo: Command = {
  name: 'gpu-info',
  summary: 'show the WebGPU adapter, its limits and features',
  synopsis: 'gpu-info',
  description:
    "The machine's GPU through Vulkan (Linux), Metal (macOS) or D3D12 (Windows); on Linux without a GPU driver,\n" +
    "SwiftShader from Debian's chromium package. SPARSEGPT_NATIVE_GPU=1 turns that fallback off.\n" +
    'kernels: the forms of the forward linears and the lazy update for this adapter, cpu (register-tiled) on a\n' +
    'software adapter, gpu (tiled in workgroup memory, subgroup reductions) on a GPU; SPARSEGPT_KERNELS=cpu|gpu\n' +
    'picks them instead.',
  options: [],
  positionals: { name: 'argument', min: 0, max: 0 },
  async run(argv) {
    parseCommandLine(this, argv);
    const ctx = await createNodeGpuContext();
    console.log(`adapter:  ${ctx.adapter.name}`);
    const forms =
      ctx.kernels === 'gpu'
        ? `tiled in workgroup memory${ctx.features.subgroups ? ', subgroup reductions for a few tokens' : ''}`
        : 'register-tiled, for a CPU-backed adapter';
    console.log(`kernels:  ${ctx.kernels} (${forms})`);
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

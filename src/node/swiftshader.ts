/**
 * Where Debian's chromium keeps SwiftShader, its CPU Vulkan driver. node/gpu.ts falls back to it in-process;
 * swiftShaderEnv is the environment for processes started with it from the outset (vitest's workers), which must
 * be set before they start (LD_LIBRARY_PATH is read at exec time).
 */
import { existsSync } from 'node:fs';

export const SWIFTSHADER_DIR = '/usr/lib/chromium';
export const SWIFTSHADER_ICD = `${SWIFTSHADER_DIR}/vk_swiftshader_icd.json`;

export function swiftShaderPresent(): boolean {
  return existsSync(SWIFTSHADER_ICD) && existsSync(`${SWIFTSHADER_DIR}/libvulkan.so.1`);
}

export function swiftShaderEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv | undefined {
  if (!swiftShaderPresent()) return undefined;
  const paths = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return {
    ...env,
    VK_ICD_FILENAMES: env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD,
    LD_LIBRARY_PATH: paths.includes(SWIFTSHADER_DIR)
      ? paths.join(':')
      : [SWIFTSHADER_DIR, ...paths].join(':'),
  };
}

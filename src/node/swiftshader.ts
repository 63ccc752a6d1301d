/**
 * Environment that makes Dawn find Chromium's SwiftShader Vulkan driver on machines with no GPU driver.
 * Must be applied before the process that loads Dawn starts (LD_LIBRARY_PATH is read at exec time).
 */
import { existsSync } from 'node:fs';

export const SWIFTSHADER_DIR = '/usr/lib/chromium';
export const SWIFTSHADER_ICD = `${SWIFTSHADER_DIR}/vk_swiftshader_icd.json`;

export function swiftShaderEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv | undefined {
  if (!existsSync(SWIFTSHADER_ICD)) return undefined;
  const paths = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return {
    ...env,
    VK_ICD_FILENAMES: env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD,
    LD_LIBRARY_PATH: paths.includes(SWIFTSHADER_DIR)
      ? paths.join(':')
      : [SWIFTSHADER_DIR, ...paths].join(':'),
  };
}

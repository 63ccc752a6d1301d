/** The tool's version, recorded in every exported checkpoint's metadata. Keep in step with package.json. */
export const TOOL_NAME = 'sparsegpt-webgpu';
export const TOOL_VERSION = '0.1.0';

/**
 * WebGPU's usage bit values, fixed by the spec. Using them directly keeps core modules importable before
 * (or without) the GPUBufferUsage global, e.g. in Node before Dawn's globals are installed.
 */
export const BufferUsage = {
  MAP_READ: 0x1,
  MAP_WRITE: 0x2,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
  QUERY_RESOLVE: 0x200,
} as const;

export const MapMode = { READ: 0x1, WRITE: 0x2 } as const;

/**
 * safetensors dtypes and the conversions between the float ones and float32 (what the GPU kernels take).
 * F16 and BF16 are rounded to nearest, ties to even, like PyTorch's `.to(torch.float16/bfloat16)`.
 */

/** Bits per element of every dtype the safetensors reference implementation knows. */
export const DTYPE_BITS = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
} as const;

export type Dtype = keyof typeof DTYPE_BITS;

/** Dtypes read as and written from Float32Array. Others are passed through as raw bytes. */
export type FloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';

export const KNOWN_DTYPES = Object.keys(DTYPE_BITS) as Dtype[];

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_BITS, value);
}

export function isFloatDtype(dtype: Dtype): dtype is FloatDtype {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64';
}

export function dtypeBytes(dtype: FloatDtype): number {
  return DTYPE_BITS[dtype] / 8;
}

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

export function float32Bits(value: number): number {
  scratchFloat[0] = value;
  return scratchBits[0];
}

export function float16BitsToNumber(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** float32 → IEEE half bits, round to nearest even; overflow gives ±inf, NaN stays NaN (quiet). */
export function float16BitsFromNumber(value: number): number {
  const bits = float32Bits(value);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >>> 13) : 0);
  const halfExponent = exponent - 112;
  if (halfExponent >= 31) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const half = mantissa >>> shift;
    const roundBit = 1 << (shift - 1);
    const rest = mantissa & (roundBit * 2 - 1);
    return sign | (half + (rest > roundBit || (rest === roundBit && half & 1) ? 1 : 0));
  }
  const half = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent, up to infinity.
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

/** float32 → bfloat16 bits, round to nearest even; NaN stays NaN (quiet). */
export function bfloat16BitsFromNumber(value: number): number {
  const bits = float32Bits(value);
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40;
  return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
}

let halfTable: Float32Array | undefined;

/** All 65536 half values as float32: decoding is then one lookup per element. */
function float16Table(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = float16BitsToNumber(h);
  }
  return halfTable;
}

/** A typed view needs an aligned offset; misaligned input (rare) is copied first. */
function aligned(bytes: Uint8Array, elementBytes: number): ArrayBuffer {
  if (bytes.byteOffset % elementBytes === 0 && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer;
}

function alignedOffset(bytes: Uint8Array, elementBytes: number): number {
  return bytes.byteOffset % elementBytes === 0 && bytes.buffer instanceof ArrayBuffer ? bytes.byteOffset : 0;
}

/**
 * Every decode and encode so far in this process: calls, bytes on the checkpoint's side, milliseconds. A run's
 * timing breakdown reports the difference over the run (run-timings.ts).
 */
export const dtypeConversions = { count: 0, bytes: 0, ms: 0 };

function counted<T>(bytes: number, convert: () => T): T {
  const started = performance.now();
  const result = convert();
  dtypeConversions.count++;
  dtypeConversions.bytes += bytes;
  dtypeConversions.ms += performance.now() - started;
  return result;
}

/** Decodes little-endian `dtype` elements from `bytes` into `out` starting at `outOffset`. */
export function decodeFloats(bytes: Uint8Array, dtype: FloatDtype, out: Float32Array, outOffset = 0): void {
  counted(bytes.byteLength, () => decodeInto(bytes, dtype, out, outOffset));
}

function decodeInto(bytes: Uint8Array, dtype: FloatDtype, out: Float32Array, outOffset: number): void {
  const size = dtypeBytes(dtype);
  const count = bytes.byteLength / size;
  const buffer = aligned(bytes, size);
  const start = alignedOffset(bytes, size);
  switch (dtype) {
    case 'F32':
      out.set(new Float32Array(buffer, start, count), outOffset);
      return;
    case 'F64':
      out.set(new Float64Array(buffer, start, count), outOffset);
      return;
    case 'F16': {
      const table = float16Table();
      const halves = new Uint16Array(buffer, start, count);
      for (let i = 0; i < count; i++) out[outOffset + i] = table[halves[i]];
      return;
    }
    case 'BF16': {
      const halves = new Uint16Array(buffer, start, count);
      const words = new Uint32Array(out.buffer, out.byteOffset + outOffset * 4, count);
      for (let i = 0; i < count; i++) words[i] = halves[i] << 16;
      return;
    }
  }
}

/** Encodes float32 values as little-endian `dtype` bytes. */
export function encodeFloats(values: Float32Array, dtype: FloatDtype): Uint8Array {
  return counted(values.length * dtypeBytes(dtype), () => encode(values, dtype));
}

function encode(values: Float32Array, dtype: FloatDtype): Uint8Array {
  switch (dtype) {
    case 'F32':
      return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    case 'F64':
      return new Uint8Array(Float64Array.from(values).buffer);
    case 'F16': {
      const halves = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) halves[i] = float16BitsFromNumber(values[i]);
      return new Uint8Array(halves.buffer);
    }
    case 'BF16': {
      const halves = new Uint16Array(values.length);
      const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
      for (let i = 0; i < values.length; i++) {
        const bits = words[i];
        halves[i] =
          (bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff
            ? (bits >>> 16) | 0x40
            : (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
      }
      return new Uint8Array(halves.buffer);
    }
  }
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // safetensors is little-endian and every browser and Node platform is too; say so loudly if that ever changes.
  throw new Error('sparsegpt needs a little-endian platform to read safetensors files');
}

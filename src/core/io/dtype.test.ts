import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../test/random';
import { decodeFloats, encodeFloats, float16BitsFromNumber } from './dtype';
import {
  halfValueReference,
  nearestBfloat16BitsReference,
  nearestHalfBitsReference,
} from './dtype.reference';

/** float32 values spread over every exponent, plus the cases where rounding is decided. */
function testValues(): Float32Array {
  const next = mulberry32(7);
  const values: number[] = [
    0,
    -0,
    1,
    -1,
    65504,
    -65504,
    65519.99,
    65520,
    65536,
    1e6,
    2 ** -24,
    2 ** -25,
    3 * 2 ** -26,
    2 ** -26,
    5 * 2 ** -26,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    1 - 2 ** -12,
    2 ** -14,
    2 ** -14 - 2 ** -25,
    3.4e38,
    -3.4e38,
    1e-45,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    1.00390625,
    1.01171875,
    3.3895314e38,
  ];
  for (let i = 0; i < 20000; i++) {
    const exponent = Math.floor(next() * 70) - 40;
    values.push((next() < 0.5 ? -1 : 1) * (1 + next()) * 2 ** exponent);
  }
  const bits = new Uint32Array(2000);
  for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(next() * 2 ** 32);
  return Float32Array.from([...values, ...new Float32Array(bits.buffer)]);
}

function halves(bytes: Uint8Array): Uint16Array {
  return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}

describe('float conversions', () => {
  it('decodes all 65536 F16 bit patterns like the definition', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = new Float32Array(65536);
    decodeFloats(new Uint8Array(all.buffer), 'F16', out);
    const wrong: number[] = [];
    for (let bits = 0; bits < 65536; bits++) {
      const expected = halfValueReference(bits);
      if (!Object.is(out[bits], expected) && !(Number.isNaN(expected) && Number.isNaN(out[bits])))
        wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds float32 to F16 to nearest, ties to even, overflowing to infinity', () => {
    const values = testValues();
    const encoded = halves(encodeFloats(values, 'F16'));
    for (let i = 0; i < values.length; i++) {
      const expected = nearestHalfBitsReference(values[i]);
      if (Number.isNaN(values[i])) expect(encoded[i] & 0x7fff).toBeGreaterThan(0x7c00);
      else if (encoded[i] !== expected) expect.fail(`${values[i]} → ${encoded[i]}, expected ${expected}`);
    }
    expect(float16BitsFromNumber(65519.99)).toBe(0x7bff);
    expect(float16BitsFromNumber(65520)).toBe(0x7c00);
    expect(float16BitsFromNumber(2 ** -25)).toBe(0);
    expect(float16BitsFromNumber(3 * 2 ** -26)).toBe(1);
  });

  it('rounds float32 to BF16 to nearest, ties to even, and decodes exactly', () => {
    const values = testValues();
    const encoded = halves(encodeFloats(values, 'BF16'));
    for (let i = 0; i < values.length; i++) {
      if (Number.isNaN(values[i])) {
        expect(encoded[i] & 0x7fff).toBeGreaterThan(0x7f80);
        continue;
      }
      const expected = nearestBfloat16BitsReference(values[i]);
      if (encoded[i] !== expected) expect.fail(`${values[i]} → ${encoded[i]}, expected ${expected}`);
    }
    const decoded = new Float32Array(values.length);
    decodeFloats(encodeFloats(values, 'BF16'), 'BF16', decoded);
    const view = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < values.length; i += 97) {
      view.setUint32(0, encoded[i] * 65536);
      const expected = view.getFloat32(0);
      if (Number.isNaN(expected)) expect(decoded[i]).toBeNaN();
      else expect(decoded[i]).toBe(expected);
    }
  });

  it('keeps F32 exact, narrows F64, and reads misaligned bytes', () => {
    const values = testValues().subarray(0, 1000);
    const decoded = new Float32Array(values.length);
    decodeFloats(encodeFloats(values, 'F32'), 'F32', decoded);
    expect(decoded).toEqual(values);
    decodeFloats(encodeFloats(values, 'F64'), 'F64', decoded);
    expect(decoded).toEqual(values);
    const shifted = new Uint8Array(4 * values.length + 1);
    shifted.set(encodeFloats(values, 'F32'), 1);
    decodeFloats(shifted.subarray(1), 'F32', decoded);
    expect(decoded).toEqual(values);
    const wider = new Float32Array(values.length + 3);
    decodeFloats(encodeFloats(values, 'F16'), 'F16', wider, 3);
    decodeFloats(encodeFloats(values, 'F16'), 'F16', decoded);
    expect(wider.subarray(3)).toEqual(decoded);
    expect(wider.subarray(0, 3)).toEqual(new Float32Array(3));
  });
});

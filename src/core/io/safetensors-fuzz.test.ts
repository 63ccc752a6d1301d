/**
 * Fuzzing the safetensors header parser: thousands of random and mutated files, seeded so failures reproduce.
 * Every outcome must be a valid parse (checked against the format's invariants) or a ModelFileError; never another
 * exception, a hang, or a read (hence an allocation) outside the file.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../test/random';
import { rawSafetensors } from '../../../test/safetensors-fixtures';
import type { ByteSource } from './bytes';
import { memoryByteSource } from './bytes';
import { DTYPE_BITS, KNOWN_DTYPES } from './dtype';
import { ModelFileError } from './errors';
import { readSafetensorsHeader, type SafetensorsHeader } from './safetensors-header';

type Random = () => number;

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)];
const integer = (random: Random, below: number) => Math.floor(random() * below);

function randomValidFile(random: Random): Uint8Array {
  const header: Record<string, unknown> = {};
  if (random() < 0.5) header.__metadata__ = { format: 'pt', k: String(integer(random, 100)) };
  let offset = 0;
  const count = integer(random, 6);
  for (let i = 0; i < count; i++) {
    const dtype = pick(random, KNOWN_DTYPES);
    const bits = DTYPE_BITS[dtype];
    const shape = Array.from({ length: integer(random, 4) }, () => integer(random, 5));
    // Sub-byte dtypes need a whole number of bytes: make the element count even (F4) or a multiple of 4 (F6).
    const multiple = bits === 4 ? 2 : bits === 6 ? 4 : 1;
    if (shape.length) shape[0] *= multiple;
    else if (multiple > 1) shape.push(multiple);
    const bytes = (shape.reduce((a, b) => a * b, 1) * bits) / 8;
    header[`t${i}.weight`] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const data = new Uint8Array(offset).map(() => integer(random, 256));
  return rawSafetensors(header, data);
}

const NASTY_VALUES: unknown[] = [
  null,
  true,
  -1,
  1.5,
  2 ** 53 + 2,
  1e300,
  -0,
  'F32',
  'f32',
  '',
  [],
  [[1]],
  {},
  [1, 2, 3],
  [-1, 0],
  [5, 2],
  [0, 2 ** 60],
  ['0', '4'],
  { dtype: 'F32' },
  '\u0000',
  'BOGUS',
  [0.5, 1],
];

/** Text-level mutations of a valid header: the JSON stays plausible, the content goes wrong. */
function mutateHeaderText(random: Random, text: string): string {
  switch (integer(random, 8)) {
    case 7: {
      // Move one tensor's range: overlaps and gaps with well-formed numbers.
      const json = JSON.parse(text);
      const names = Object.keys(json).filter((k) => k !== '__metadata__');
      if (!names.length) return text;
      const entry = json[pick(random, names)];
      const shift = pick(random, [-3, -1, 1, 2, 8]);
      entry.data_offsets = entry.data_offsets.map((o: number) => Math.max(0, o + shift));
      return JSON.stringify(json);
    }
    case 0: {
      const at = integer(random, text.length);
      return text.slice(0, at) + text.slice(at + 1 + integer(random, 4));
    }
    case 1: {
      const at = integer(random, text.length + 1);
      return (
        text.slice(0, at) +
        pick(random, ['{', '}', '[', ']', ',', ':', '"', '1', '-', 'e9', '\\u', '\uD800']) +
        text.slice(at)
      );
    }
    case 2:
      return text.replace(/\d+/, () =>
        pick(random, ['-3', '1e400', '9007199254740993', '0.5', '18446744073709551616']),
      );
    case 3:
      return text.replace(
        /"(F32|F16|BF16|I8|U8|F64|I64|BOOL|F4|F6_E2M3)"/,
        `"${pick(random, ['Q4', 'f32', 'F8', '', 'F32 '])}"`,
      );
    case 4:
      return text.replace(/"shape":\[[^\]]*\]/, `"shape":${JSON.stringify(pick(random, NASTY_VALUES))}`);
    case 5:
      return text.replace(
        /"data_offsets":\[[^\]]*\]/,
        `"data_offsets":${JSON.stringify(pick(random, NASTY_VALUES))}`,
      );
    default:
      return text.replace(
        /^\{/,
        `{"__metadata__":${JSON.stringify(pick(random, [{ a: 1 }, 'x', [], { b: null }, { c: 'ok' }]))},`,
      );
  }
}

function mutatedFile(random: Random, file: Uint8Array): Uint8Array {
  const length = Number(new DataView(file.buffer).getBigUint64(0, true));
  const kind = integer(random, 6);
  if (kind <= 1) {
    const text = new TextDecoder().decode(file.subarray(8, 8 + length));
    return rawSafetensors(mutateHeaderText(random, text), file.subarray(8 + length));
  }
  const copy = file.slice();
  if (kind === 2) {
    for (let i = 0, n = 1 + integer(random, 4); i < n; i++)
      copy[integer(random, copy.length)] = integer(random, 256);
    return copy;
  }
  if (kind === 3) return copy.subarray(0, integer(random, copy.length + 1));
  if (kind === 4) {
    const extended = new Uint8Array(copy.length + 1 + integer(random, 16));
    extended.set(copy);
    return extended;
  }
  const view = new DataView(copy.buffer);
  view.setUint32(
    0,
    pick(random, [0, 1, length - 1, length + 1, 0xffffffff, 100_000_001, integer(random, 2 ** 32)]),
    true,
  );
  view.setUint32(4, pick(random, [0, 0, 0, 1, 0xffffffff]), true);
  return copy;
}

function randomBytes(random: Random): Uint8Array {
  const bytes = new Uint8Array(integer(random, 64)).map(() => integer(random, 256));
  if (bytes.length >= 8 && random() < 0.7) {
    new DataView(bytes.buffer).setUint32(0, integer(random, bytes.length), true);
    new DataView(bytes.buffer).setUint32(4, 0, true);
    if (bytes.length > 8) bytes[8] = 0x7b;
  }
  return bytes;
}

/** A source that fails the test on any read outside the file: reads are the only allocations the parser makes. */
function guardedSource(bytes: Uint8Array): ByteSource {
  const inner = memoryByteSource(bytes, 'fuzz.safetensors');
  return {
    name: inner.name,
    size: inner.size,
    read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > bytes.length)
        throw new Error(`read outside the file: ${offset}+${length}`);
      return inner.read(offset, length);
    },
  };
}

function checkInvariants(header: SafetensorsHeader, size: number): void {
  let expected = header.dataStart;
  for (const tensor of header.tensors) {
    expect(tensor.byteStart).toBe(expected);
    const bits = tensor.shape.reduce((a, b) => a * b, 1) * DTYPE_BITS[tensor.dtype];
    expect(tensor.byteEnd - tensor.byteStart).toBe(bits / 8);
    expected = tensor.byteEnd;
  }
  expect(expected).toBe(size);
  for (const value of Object.values(header.metadata)) expect(typeof value).toBe('string');
}

async function outcome(bytes: Uint8Array): Promise<'valid' | string> {
  try {
    const header = await readSafetensorsHeader(guardedSource(bytes));
    checkInvariants(header, bytes.length);
    return 'valid';
  } catch (error) {
    if (error instanceof ModelFileError) return error.code;
    throw error;
  }
}

describe('safetensors header fuzzing', () => {
  it('parses random valid files and their round trip', async () => {
    const random = mulberry32(1);
    for (let i = 0; i < 500; i++) expect(await outcome(randomValidFile(random))).toBe('valid');
  });

  it('answers thousands of mutated and random files with a valid parse or a ModelFileError', async () => {
    const random = mulberry32(2);
    const codes = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const bytes = i % 5 === 4 ? randomBytes(random) : mutatedFile(random, randomValidFile(random));
      const code = await outcome(bytes);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    // The mutations must reach the checks, not only the first one.
    for (const code of [
      'valid',
      'bad-header',
      'truncated',
      'header-too-large',
      'unknown-dtype',
      'bad-shape',
      'bad-offsets',
      'size-mismatch',
      'trailing-bytes',
      'bad-metadata',
    ]) {
      expect(codes.get(code) ?? 0, `outcomes: ${JSON.stringify([...codes])}`).toBeGreaterThan(0);
    }
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { f32Bytes, rawSafetensors, readF32, validSafetensors } from '../../../test/safetensors-fixtures';
import { blobByteSource, memoryByteSource } from './bytes';
import { openCheckpoint, openSafetensorsFile } from './checkpoint';
import { encodeFloats } from './dtype';
import { halfValueReference } from './dtype.reference';
import { ModelFileError } from './errors';
import { createModelFolder } from './folder';
import { readSafetensorsHeader } from './safetensors-header';
import { readTensorFloat32 } from './tensor-read';

const modelUrl = new URL('../../../../shared/models/stories260K/model.safetensors', import.meta.url);
const modelBytes = new Uint8Array(readFileSync(modelUrl));

/** The obvious parse, for comparison: header JSON, then float32 values at data_offsets. */
function referenceTensors(bytes: Uint8Array): Map<string, { shape: number[]; values: number[] }> {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const out = new Map<string, { shape: number[]; values: number[] }>();
  for (const [name, info] of Object.entries<{ shape: number[]; data_offsets: [number, number] }>(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets;
    out.set(name, { shape: info.shape, values: readF32(bytes, 8 + length + begin, (end - begin) / 4) });
  }
  return out;
}

describe('safetensors reader on the real stories260K checkpoint', () => {
  const folder = createModelFolder('stories260K', [
    ['model.safetensors', memoryByteSource(modelBytes, 'model.safetensors')],
  ]);

  it('lists every tensor with dtype, shape and contiguous byte ranges in file order', async () => {
    const checkpoint = await openCheckpoint(folder);
    expect(checkpoint.tensors).toHaveLength(47);
    expect(checkpoint.index).toBeUndefined();
    expect(checkpoint.metadata.format).toBe('pt');
    const byName = new Map(checkpoint.tensors.map((t) => [t.name, t]));
    expect(byName.get('model.embed_tokens.weight')?.shape).toEqual([512, 64]);
    expect(byName.get('model.norm.weight')?.shape).toEqual([64]);
    expect(byName.has('lm_head.weight')).toBe(false);
    for (let layer = 0; layer < 5; layer++) {
      const p = `model.layers.${layer}.`;
      expect(byName.get(`${p}self_attn.q_proj.weight`)?.shape).toEqual([64, 64]);
      expect(byName.get(`${p}self_attn.k_proj.weight`)?.shape).toEqual([32, 64]);
      expect(byName.get(`${p}self_attn.v_proj.weight`)?.shape).toEqual([32, 64]);
      expect(byName.get(`${p}self_attn.o_proj.weight`)?.shape).toEqual([64, 64]);
      expect(byName.get(`${p}mlp.gate_proj.weight`)?.shape).toEqual([172, 64]);
      expect(byName.get(`${p}mlp.up_proj.weight`)?.shape).toEqual([172, 64]);
      expect(byName.get(`${p}mlp.down_proj.weight`)?.shape).toEqual([64, 172]);
      expect(byName.get(`${p}input_layernorm.weight`)?.shape).toEqual([64]);
    }
    const header = checkpoint.files[0];
    let expected = header.dataStart;
    for (const tensor of checkpoint.tensors) {
      expect(tensor.dtype).toBe('F32');
      expect(tensor.byteStart).toBe(expected);
      expected = tensor.byteEnd;
    }
    expect(expected).toBe(modelBytes.byteLength);
    const parameters = checkpoint.tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(parameters).toBe(260_032);
  });

  it('reads every tensor, and row ranges of them, exactly as stored', async () => {
    const checkpoint = await openCheckpoint(folder);
    const reference = referenceTensors(modelBytes);
    for (const tensor of checkpoint.tensors) {
      const values = await checkpoint.readFloat32(tensor.name);
      expect(Array.from(values)).toEqual(reference.get(tensor.name)?.values);
    }
    const down = reference.get('model.layers.3.mlp.down_proj.weight')?.values ?? [];
    const rows = await checkpoint.readFloat32('model.layers.3.mlp.down_proj.weight', { start: 10, end: 13 });
    expect(Array.from(rows)).toEqual(down.slice(10 * 172, 13 * 172));
    expect(await checkpoint.readFloat32('model.norm.weight', { start: 5, end: 5 })).toHaveLength(0);
    await expect(checkpoint.readFloat32('model.norm.weight', { start: 60, end: 65 })).rejects.toThrow(
      RangeError,
    );
    const raw = await checkpoint.readBytes('model.norm.weight');
    expect(readF32(raw, 0, 64)).toEqual(reference.get('model.norm.weight')?.values);
  });

  it('reads the same through a Blob (the browser path)', async () => {
    const checkpoint = await openSafetensorsFile(blobByteSource(new Blob([modelBytes]), 'model.safetensors'));
    const fromBlob = await checkpoint.readFloat32('model.layers.4.self_attn.v_proj.weight');
    expect(Array.from(fromBlob)).toEqual(
      referenceTensors(modelBytes).get('model.layers.4.self_attn.v_proj.weight')?.values,
    );
  });

  it('names missing tensors', async () => {
    const checkpoint = await openCheckpoint(folder);
    await expect(checkpoint.readFloat32('lm_head.weight')).rejects.toMatchObject({
      code: 'tensor-not-found',
      message: expect.stringContaining('lm_head.weight'),
    });
  });
});

describe('safetensors reader on other dtypes and layouts', () => {
  const values = Float32Array.from({ length: 24 }, (_, i) => (i - 11.5) * 0.37);

  it('converts F16, BF16 and F64 to float32 and passes other dtypes through as bytes', async () => {
    const halfBytes = encodeFloats(values, 'F16');
    const file = validSafetensors({
      half: { dtype: 'F16', shape: [2, 3, 4], data: halfBytes },
      brain: { dtype: 'BF16', shape: [24], data: encodeFloats(values, 'BF16') },
      double: { dtype: 'F64', shape: [4, 6], data: new Uint8Array(Float64Array.from(values).buffer) },
      ints: { dtype: 'I8', shape: [3], data: new Uint8Array([1, 255, 7]) },
      empty: { dtype: 'F32', shape: [0, 5], data: new Uint8Array(0) },
      scalar: { dtype: 'F32', shape: [], data: f32Bytes([4.5]) },
    });
    const checkpoint = await openSafetensorsFile(memoryByteSource(file, 'mixed.safetensors'));
    const half = await checkpoint.readFloat32('half');
    const halfBits = new Uint16Array(halfBytes.buffer);
    expect(Array.from(half)).toEqual(Array.from(halfBits, halfValueReference));
    const rows = await checkpoint.readFloat32('half', { start: 1, end: 2 });
    expect(rows).toEqual(half.subarray(12, 24));
    const brain = await checkpoint.readFloat32('brain');
    brain.forEach((v, i) => {
      expect(Math.abs(v - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -8);
    });
    expect(await checkpoint.readFloat32('double')).toEqual(values);
    expect(await checkpoint.readBytes('ints')).toEqual(new Uint8Array([1, 255, 7]));
    await expect(checkpoint.readFloat32('ints')).rejects.toMatchObject({ code: 'unsupported-dtype' });
    expect(await checkpoint.readFloat32('empty')).toHaveLength(0);
    expect(Array.from(await checkpoint.readFloat32('scalar'))).toEqual([4.5]);
    expect(checkpoint.tensors.map((t) => t.name)).toEqual([
      'half',
      'brain',
      'double',
      'ints',
      'empty',
      'scalar',
    ]);
  });

  it('reads in chunks that split elements and rows anywhere', async () => {
    const file = validSafetensors({
      half: { dtype: 'F16', shape: [4, 6], data: encodeFloats(values, 'F16') },
    });
    const source = memoryByteSource(file, 'half.safetensors');
    const header = await readSafetensorsHeader(source);
    const whole = await readTensorFloat32(source, header.tensors[0]);
    for (const chunkBytes of [1, 2, 6, 14, 1000]) {
      expect(await readTensorFloat32(source, header.tensors[0], undefined, chunkBytes)).toEqual(whole);
      expect(await readTensorFloat32(source, header.tensors[0], { start: 1, end: 3 }, chunkBytes)).toEqual(
        whole.subarray(6, 18),
      );
    }
  });

  it('lists tensors in data order whatever the order of header keys, with padding and metadata', async () => {
    const data = f32Bytes([1, 2, 3, 4, 5]);
    const header =
      '{"b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]},"__metadata__":{"format":"pt","note":"x"},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}      ';
    const checkpoint = await openSafetensorsFile(
      memoryByteSource(rawSafetensors(header, data), 'ordered.safetensors'),
    );
    expect(checkpoint.tensors.map((t) => t.name)).toEqual(['a', 'b']);
    expect(checkpoint.metadata).toEqual({ format: 'pt', note: 'x' });
    expect(Array.from(await checkpoint.readFloat32('b'))).toEqual([3, 4, 5]);
  });

  it('opens sharded checkpoints through the index, in shard order', async () => {
    const shard = (names: string[], offset: number) =>
      validSafetensors(
        Object.fromEntries(
          names.map((name, i) => [
            name,
            { dtype: 'F32', shape: [2], data: f32Bytes([offset + i, -(offset + i)]) },
          ]),
        ),
        { format: 'pt' },
      );
    const weightMap = {
      'model.embed_tokens.weight': 'model-00001-of-00003.safetensors',
      'model.layers.0.w': 'model-00001-of-00003.safetensors',
      'model.layers.1.w': 'model-00002-of-00003.safetensors',
      'lm_head.weight': 'model-00003-of-00003.safetensors',
    };
    const index = { metadata: { total_size: 32 }, weight_map: weightMap };
    const folder = createModelFolder('sharded', [
      [
        'model-00003-of-00003.safetensors',
        memoryByteSource(shard(['lm_head.weight', 'extra'], 30), 'model-00003-of-00003.safetensors'),
      ],
      [
        'model-00001-of-00003.safetensors',
        memoryByteSource(
          shard(['model.embed_tokens.weight', 'model.layers.0.w'], 10),
          'model-00001-of-00003.safetensors',
        ),
      ],
      [
        'model-00002-of-00003.safetensors',
        memoryByteSource(shard(['model.layers.1.w'], 20), 'model-00002-of-00003.safetensors'),
      ],
      [
        'model.safetensors.index.json',
        memoryByteSource(new TextEncoder().encode(JSON.stringify(index)), 'model.safetensors.index.json'),
      ],
    ]);
    const checkpoint = await openCheckpoint(folder);
    expect(checkpoint.files.map((f) => f.file)).toEqual([
      'model-00001-of-00003.safetensors',
      'model-00002-of-00003.safetensors',
      'model-00003-of-00003.safetensors',
    ]);
    expect(checkpoint.tensors.map((t) => t.name)).toEqual([
      'model.embed_tokens.weight',
      'model.layers.0.w',
      'model.layers.1.w',
      'lm_head.weight',
      'extra',
    ]);
    expect(checkpoint.index?.weightMap).toEqual(weightMap);
    expect(checkpoint.warnings[0]).toMatch(/model-00003-of-00003.safetensors has 1 tensor.*extra/);
    expect(Array.from(await checkpoint.readFloat32('model.layers.1.w'))).toEqual([20, -20]);
    expect(Array.from(await checkpoint.readFloat32('lm_head.weight'))).toEqual([30, -30]);
    expect(checkpoint.tensor('lm_head.weight').file).toBe('model-00003-of-00003.safetensors');
  });

  it('reports errors as ModelFileError with file and tensor', async () => {
    const file = validSafetensors({ x: { dtype: 'F32', shape: [2], data: f32Bytes([1, 2]) } });
    const cut = file.subarray(0, file.byteLength - 3);
    const error = await openSafetensorsFile(memoryByteSource(cut, 'cut.safetensors')).catch((e) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(error).toMatchObject({ code: 'truncated', file: 'cut.safetensors', tensor: 'x' });
  });
});

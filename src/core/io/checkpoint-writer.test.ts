import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { f32Bytes, validSafetensors } from '../../../test/safetensors-fixtures';
import { type ByteSink, type ByteSource, memoryByteSink, memoryByteSource, type SinkFactory } from './bytes';
import { type Checkpoint, openCheckpoint, openSafetensorsFile } from './checkpoint';
import { createCheckpointWriter, pruningMetadata } from './checkpoint-writer';
import { nearestBfloat16BitsReference, nearestHalfBitsReference } from './dtype.reference';
import { ModelFileError } from './errors';
import { createModelFolder, type ModelFolder } from './folder';
import { encodeSafetensors, writeSafetensors } from './safetensors-write';

const shared = new URL('../../../../shared/models/stories260K/', import.meta.url);
const modelBytes = new Uint8Array(readFileSync(new URL('model.safetensors', shared)));
const configBytes = new Uint8Array(readFileSync(new URL('config.json', shared)));
const source = (name: string, bytes: Uint8Array): [string, ByteSource] => [
  name,
  memoryByteSource(bytes, name),
];

/** Output files in memory; `appendOnly` hides writeAt, like a download stream. */
function memoryOutput(appendOnly = false) {
  const sinks = new Map<string, ReturnType<typeof memoryByteSink>>();
  const factory: SinkFactory = async (path) => {
    const sink = memoryByteSink();
    sinks.set(path, sink);
    if (!appendOnly) return sink;
    const { writeAt: _, ...sequential } = sink;
    return sequential as ByteSink;
  };
  const folder = (): ModelFolder =>
    createModelFolder(
      'out',
      [...sinks].filter(([, s]) => s.closed()).map(([path, s]) => source(path, s.bytes())),
    );
  return { sinks, factory, folder };
}

function storiesFolder(): ModelFolder {
  return createModelFolder('stories260K', [
    source('model.safetensors', modelBytes),
    source('config.json', configBytes),
    source('pytorch_model.bin', new Uint8Array([0x50, 0x4b, 3, 4])),
    source('README.md', new TextEncoder().encode('# stories')),
  ]);
}

/** Zeroes every other weight: a stand-in for a pruned matrix. */
function halfZeroed(values: Float32Array): Float32Array {
  return values.map((v, i) => (i % 2 ? 0 : v));
}

/** Byte equality through Buffer: vitest's deep equality is slow on large typed arrays. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

async function expectSameLayout(output: Checkpoint, input: Checkpoint) {
  expect(output.tensors.map(({ name, dtype, shape, file }) => ({ name, dtype, shape, file }))).toEqual(
    input.tensors.map(({ name, dtype, shape, file }) => ({ name, dtype, shape, file })),
  );
}

describe('checkpoint writer', () => {
  const pruned = ['model.layers.2.self_attn.q_proj.weight', 'model.layers.0.mlp.down_proj.weight'];
  const metadata = pruningMetadata({
    method: 'sparsegpt',
    sparsity: 0.5,
    pattern: 'unstructured',
    calibration: '16 x 128 tokens of calibration.txt',
    toolVersion: '0.1.0',
  });

  it('writes replaced tensors in any order to seekable sinks; everything else is byte-identical', async () => {
    const input = await openCheckpoint(storiesFolder());
    const out = memoryOutput();
    const writer = await createCheckpointWriter(input, out.factory, { metadata, replacing: pruned });
    for (const name of pruned) await writer.writeTensor(name, halfZeroed(await input.readFloat32(name)));
    expect(writer.pending()).toHaveLength(45);
    const report = await writer.finish();
    expect(report.files.map((f) => f.path)).toEqual(['model.safetensors', 'README.md', 'config.json']);
    expect(report.skipped).toEqual([{ path: 'pytorch_model.bin', reason: expect.stringContaining('stale') }]);
    const output = await openCheckpoint(out.folder());
    await expectSameLayout(output, input);
    expect(output.metadata).toEqual({ ...input.metadata, ...metadata, format: 'pt' });
    expect(output.files[0].dataStart % 8).toBe(0);
    for (const tensor of input.tensors) {
      const written = await output.readBytes(tensor.name);
      if (pruned.includes(tensor.name)) {
        expect(await output.readFloat32(tensor.name)).toEqual(
          halfZeroed(await input.readFloat32(tensor.name)),
        );
      } else {
        expect(sameBytes(written, await input.readBytes(tensor.name)), tensor.name).toBe(true);
      }
    }
    expect(out.sinks.get('config.json')?.bytes()).toEqual(configBytes);
  });

  it('writes the same bytes through append-only sinks in file order, copying what lies between', async () => {
    const input = await openCheckpoint(storiesFolder());
    const seekable = memoryOutput();
    const a = await createCheckpointWriter(input, seekable.factory, { metadata });
    for (const name of [...pruned].reverse())
      await a.writeTensor(name, halfZeroed(await input.readFloat32(name)));
    await a.finish();
    const appendOnly = memoryOutput(true);
    const b = await createCheckpointWriter(input, appendOnly.factory, {
      metadata,
      replacing: pruned,
      chunkBytes: 1000,
    });
    const inFileOrder = input.tensors.map((t) => t.name).filter((name) => pruned.includes(name));
    for (const name of inFileOrder) await b.writeTensor(name, halfZeroed(await input.readFloat32(name)));
    await b.finish();
    const appended = appendOnly.sinks.get('model.safetensors')?.bytes() as Uint8Array;
    expect(sameBytes(appended, seekable.sinks.get('model.safetensors')?.bytes() as Uint8Array)).toBe(true);
  });

  it('refuses out-of-order tensors on append-only sinks when they were announced, and double writes', async () => {
    const input = await openCheckpoint(storiesFolder());
    const [first, second] = input.tensors.map((t) => t.name).filter((name) => pruned.includes(name));
    const strict = await createCheckpointWriter(input, memoryOutput(true).factory, { replacing: pruned });
    const error = await strict.writeTensor(second, await input.readFloat32(second)).catch((e) => e);
    expect(error).toMatchObject({
      code: 'bad-write',
      message: expect.stringMatching(/only be written in file order/),
    });
    await strict.abort();
    const lenient = await createCheckpointWriter(input, memoryOutput(true).factory);
    await lenient.writeTensor(second, await input.readFloat32(second));
    await expect(lenient.writeTensor(first)).rejects.toThrow(/already written/);
    await lenient.abort();
  });

  it('rejects data that does not fit the tensor and non-string metadata', async () => {
    const input = await openCheckpoint(storiesFolder());
    const writer = await createCheckpointWriter(input, memoryOutput().factory);
    await expect(writer.writeTensor('model.norm.weight', new Float32Array(63))).rejects.toThrow(
      /\[64\] \(64 values\); got 63/,
    );
    await expect(writer.writeTensor('model.norm.weight', new Uint8Array(255))).rejects.toThrow(
      /takes 256 bytes/,
    );
    await expect(writer.writeTensor('no.such.tensor')).rejects.toMatchObject({ code: 'tensor-not-found' });
    await writer.abort();
    await expect(
      createCheckpointWriter(input, memoryOutput().factory, {
        metadata: { 'sparsegpt.sparsity': 0.5 as unknown as string },
      }),
    ).rejects.toThrow(/must be a string/);
    const ints = await openSafetensorsFile(
      memoryByteSource(
        validSafetensors({ i: { dtype: 'I8', shape: [2], data: new Uint8Array([1, 2]) } }),
        'i.safetensors',
      ),
    );
    const intWriter = await createCheckpointWriter(ints, memoryOutput().factory);
    await expect(intWriter.writeTensor('i', new Float32Array(2))).rejects.toThrow(
      /I8: float32 values can only replace/,
    );
    await intWriter.writeTensor('i', new Uint8Array([9, 8]));
    await intWriter.finish();
  });

  it('abort discards every sink and ends the writer', async () => {
    const input = await openCheckpoint(storiesFolder());
    const out = memoryOutput();
    const writer = await createCheckpointWriter(input, out.factory);
    await writer.writeTensor(pruned[0], await input.readFloat32(pruned[0]));
    await writer.abort(new Error('device lost'));
    expect(out.sinks.get('model.safetensors')?.closed()).toBe(false);
    expect(out.sinks.get('model.safetensors')?.bytes()).toHaveLength(0);
    await expect(writer.writeTensor(pruned[1])).rejects.toThrow(/already aborted/);
  });
});

describe('checkpoint writer on sharded F16/BF16 checkpoints', () => {
  const values = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i * 1.7) * 3 + 1e-5 * i);

  function shardedFolder(): ModelFolder {
    const half = (n: number) => new Uint8Array(new Uint16Array(n).map((_, i) => 0x3c00 + i).buffer);
    const shard1 = validSafetensors(
      {
        'model.embed_tokens.weight': { dtype: 'BF16', shape: [6, 5], data: half(30) },
        'model.layers.0.q.weight': { dtype: 'F16', shape: [6, 10], data: half(60) },
      },
      { format: 'pt' },
    );
    const shard2 = validSafetensors(
      {
        'model.layers.1.q.weight': { dtype: 'BF16', shape: [10, 6], data: half(60) },
        'model.norm.weight': { dtype: 'F32', shape: [3], data: f32Bytes([1, 2, 3]) },
      },
      { format: 'pt' },
    );
    const weightMap = {
      'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
      'model.layers.0.q.weight': 'model-00001-of-00002.safetensors',
      'model.layers.1.q.weight': 'model-00002-of-00002.safetensors',
      'model.norm.weight': 'model-00002-of-00002.safetensors',
    };
    const index = { metadata: { total_size: 312 }, weight_map: weightMap };
    return createModelFolder('sharded', [
      source('model-00001-of-00002.safetensors', shard1),
      source('model-00002-of-00002.safetensors', shard2),
      source('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify(index))),
      source('tokenizer.json', new TextEncoder().encode('{}')),
    ]);
  }

  it('converts replaced tensors to their own dtype (nearest even) and rewrites the index', async () => {
    const input = await openCheckpoint(shardedFolder());
    for (const appendOnly of [false, true]) {
      const out = memoryOutput(appendOnly);
      const writer = await createCheckpointWriter(input, out.factory, {
        metadata: { 'sparsegpt.method': 'sparsegpt' },
        chunkBytes: 7,
      });
      await writer.writeTensor('model.layers.0.q.weight', values);
      await writer.writeTensor('model.layers.1.q.weight', values);
      const report = await writer.finish();
      expect(report.files.map((f) => f.path)).toEqual([
        'model-00001-of-00002.safetensors',
        'model-00002-of-00002.safetensors',
        'model.safetensors.index.json',
        'tokenizer.json',
      ]);
      const output = await openCheckpoint(out.folder());
      await expectSameLayout(output, input);
      expect(output.index?.weightMap).toEqual(input.index?.weightMap);
      expect(output.index?.metadata).toEqual({ total_size: 312 });
      const f16 = new Uint16Array((await output.readBytes('model.layers.0.q.weight')).slice().buffer);
      expect(Array.from(f16)).toEqual(Array.from(values, nearestHalfBitsReference));
      const bf16 = new Uint16Array((await output.readBytes('model.layers.1.q.weight')).slice().buffer);
      expect(Array.from(bf16)).toEqual(Array.from(values, nearestBfloat16BitsReference));
      for (const name of ['model.embed_tokens.weight', 'model.norm.weight']) {
        expect(await output.readBytes(name)).toEqual(await input.readBytes(name));
      }
      expect(output.metadata['sparsegpt.method']).toBe('sparsegpt');
    }
  });
});

describe('standalone safetensors files', () => {
  it('encodes tensors in the reference layout and reads them back', async () => {
    const weight = Float32Array.from({ length: 12 }, (_, i) => i / 3);
    const bytes = encodeSafetensors(
      [
        { name: 'weight', dtype: 'F32', shape: [3, 4], data: weight },
        { name: 'mask', dtype: 'U8', shape: [4], data: new Uint8Array([1, 0, 1, 1]) },
        { name: 'bias', dtype: 'F16', shape: [3], data: new Float32Array([0.5, -2, 1024]) },
      ],
      { note: 'layer 3' },
    );
    const file = await openSafetensorsFile(memoryByteSource(bytes, 'layer.safetensors'));
    expect(file.tensors.map((t) => t.name)).toEqual(['weight', 'bias', 'mask']);
    expect(file.files[0].dataStart % 8).toBe(0);
    expect(await file.readFloat32('weight')).toEqual(weight);
    expect(Array.from(await file.readFloat32('bias'))).toEqual([0.5, -2, 1024]);
    expect(file.metadata).toEqual({ note: 'layer 3', format: 'pt' });
    const sink = memoryByteSink();
    await writeSafetensors(sink, [{ name: 'weight', dtype: 'F32', shape: [3, 4], data: weight }]);
    expect(sink.closed()).toBe(true);
    expect(() => encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [5], data: weight }])).toThrow(
      ModelFileError,
    );
  });
});

/**
 * The pipeline prunes each linear where it already is on the GPU, in the block's weights: its dense weight goes to
 * the GPU once (with the block), the pruned weight never (the block's re-run takes it where the solver left it),
 * and the pruned weight comes back once (for the writer and the saved block). Observed on the real device, by
 * recording every queue write and every mapped readback of the run, and matching their bytes against each linear's
 * dense and pruned weight in the pruner's [rows = out, cols = in] layout (GPT-2's Conv1D weights are stored
 * transposed, so its upload and readback are the transposed ones).
 */
import { describe, expect, it } from 'vitest';
import { randomModel, tinyGpt2Config, tinyLlamaConfig } from '../../../test/checkpoints';
import { useGpu } from '../../../test/gpu';
import { toOutIn } from '../forward/architecture';
import type { GpuContext } from '../gpu/context';
import { BufferUsage } from '../gpu/flags';
import { memoryByteSink, memoryByteSource } from '../io/bytes';
import { openCheckpoint } from '../io/checkpoint';
import { createModelFolder } from '../io/folder';
import type { ModelConfig } from '../model/types';
import { pruneModel } from './prune-model';
import { DEFAULT_SETTINGS } from './types';

const TEXT = 'The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. '.repeat(
  40,
);

/** Copies of every byte range written with queue.writeBuffer and read from a mapped buffer, from now on. */
function recordTraffic(ctx: GpuContext) {
  const uploads: Uint8Array[] = [];
  const readbacks: Uint8Array[] = [];
  const queue = ctx.device.queue;
  const write = queue.writeBuffer.bind(queue);
  queue.writeBuffer = ((buffer, offset, data, dataOffset = 0, size) => {
    const bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data as ArrayBuffer);
    const element = ArrayBuffer.isView(data) ? (data as Float32Array).BYTES_PER_ELEMENT : 1;
    const start = dataOffset * element;
    uploads.push(bytes.slice(start, size === undefined ? undefined : start + size * element));
    return write(buffer, offset, data, dataOffset, size);
  }) as GPUQueue['writeBuffer'];
  const create = ctx.device.createBuffer;
  ctx.device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    if (descriptor.usage & BufferUsage.MAP_READ) {
      const mapped = buffer.getMappedRange.bind(buffer);
      buffer.getMappedRange = (offset?: number, size?: number) => {
        const range = mapped(offset, size);
        readbacks.push(new Uint8Array(range.slice(0)));
        return range;
      };
    }
    return buffer;
  };
  const count = (list: Uint8Array[], values: Float32Array) => {
    const wanted = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    return list.filter((bytes) => bytes.length === wanted.length && bytes.every((b, i) => b === wanted[i]))
      .length;
  };
  return {
    uploadsOf: (values: Float32Array) => count(uploads, values),
    readbacksOf: (values: Float32Array) => count(readbacks, values),
    stop() {
      queue.writeBuffer = write;
      ctx.device.createBuffer = create;
    },
  };
}

describe('pruneModel keeps each linear on the GPU while it prunes it', () => {
  const gpu = useGpu();
  const cases: Array<[string, ModelConfig, string]> = [
    ['Llama', tinyLlamaConfig(), 'model.'],
    ['GPT-2 (Conv1D weights stored transposed)', tinyGpt2Config(), 'transformer.'],
  ];
  for (const [label, config, prefix] of cases) {
    it(`${label}: one upload of the dense weight, none of the pruned, one readback`, async () => {
      const ctx = await gpu();
      const model = await randomModel(config, prefix);
      const sinks = new Map<string, ReturnType<typeof memoryByteSink>>();
      const sinkFor = async (path: string) => {
        const sink = memoryByteSink();
        sinks.set(path, sink);
        return sink;
      };
      const traffic = recordTraffic(ctx);
      let result: Awaited<ReturnType<typeof pruneModel>>['result'];
      try {
        ({ result } = await pruneModel(
          ctx,
          model,
          { ...DEFAULT_SETTINGS, nsamples: 4, seqlen: 16 },
          { calibration: TEXT },
          { output: { sinkFor } },
        ));
      } finally {
        traffic.stop();
      }
      const written = await openCheckpoint(
        createModelFolder(
          'out',
          [...sinks].map(([path, sink]) => [path, memoryByteSource(sink.bytes(), path)] as const),
        ),
      );
      const specs = new Map(model.arch.prunableLinears().map((l) => [l.tensor, l]));
      const pruned = result.layers.filter((layer) => !layer.skipped);
      expect(pruned.length).toBe(specs.size);
      for (const layer of pruned) {
        const spec = specs.get(layer.tensor)!;
        const dense = toOutIn(spec, await model.checkpoint.readFloat32(layer.tensor));
        const sparse = toOutIn(spec, await written.readFloat32(layer.tensor));
        expect(sparse).not.toEqual(dense);
        expect(traffic.uploadsOf(dense), `${layer.tensor}: uploads of the dense weight`).toBe(1);
        expect(traffic.uploadsOf(sparse), `${layer.tensor}: uploads of the pruned weight`).toBe(0);
        expect(traffic.readbacksOf(sparse), `${layer.tensor}: readbacks of the pruned weight`).toBe(1);
      }
    });
  }
});

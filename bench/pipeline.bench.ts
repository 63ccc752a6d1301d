/**
 * `node bin/run-ts.mjs bench/pipeline.bench.ts`: a whole demo run (stories260K, 50%, 32 × 256 calibration tokens,
 * the pruned model written to memory) repeated in one process, with wall time per stage and per step of a block,
 * and how many bytes went to the GPU (queue.writeBuffer) and came back (mapped readback buffers) per run. CPU time
 * (this process, SwiftShader's threads included) says more than wall time where other work shares the cores.
 *
 *   node bin/run-ts.mjs bench/pipeline.bench.ts [--runs 3] [--nsamples 32] [--seqlen 256]
 */

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { BufferUsage } from '../src/core/gpu/flags';
import { memoryByteSink } from '../src/core/io/bytes';
import { openModel } from '../src/core/pipeline/open-model';
import { pruneModel } from '../src/core/pipeline/prune-model';
import { DEFAULT_SETTINGS, type PruneEvent } from '../src/core/pipeline/types';
import { openFolder } from '../src/node/files';
import { createNodeGpuContext } from '../src/node/gpu';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    nsamples: { type: 'string', default: '32' },
    seqlen: { type: 'string', default: '256' },
  },
});
const demo = new URL('../public/demo/stories260K/', import.meta.url).pathname;
const calibration = await readFile(`${demo}calibration.txt`, 'utf8');
const { model } = await openModel(await openFolder(demo));
const ctx = await createNodeGpuContext();
console.log(`adapter: ${ctx.adapter.name}`);

// Counts what crosses the bus, whatever code does it: every queue write, and every buffer created to be mapped for
// reading (one per readback).
const traffic = { uploads: 0, uploadBytes: 0, readbacks: 0, readbackBytes: 0 };
const write = ctx.device.queue.writeBuffer.bind(ctx.device.queue);
ctx.device.queue.writeBuffer = ((buffer, offset, data, dataOffset, size) => {
  traffic.uploads++;
  const elementBytes = ArrayBuffer.isView(data) ? ((data as Float32Array).BYTES_PER_ELEMENT ?? 1) : 1;
  traffic.uploadBytes += size !== undefined ? size * elementBytes : data.byteLength - (dataOffset ?? 0);
  return write(buffer, offset, data, dataOffset, size);
}) as GPUQueue['writeBuffer'];
const create = ctx.device.createBuffer.bind(ctx.device);
ctx.device.createBuffer = (descriptor: GPUBufferDescriptor) => {
  if (descriptor.usage & BufferUsage.MAP_READ) {
    traffic.readbacks++;
    traffic.readbackBytes += descriptor.size;
  }
  return create(descriptor);
};

const settings = {
  ...DEFAULT_SETTINGS,
  sparsity: 0.5,
  nsamples: Number(values.nsamples),
  seqlen: Number(values.seqlen),
};
const rows: Array<Record<string, number>> = [];
for (let run = 0; run < Number(values.runs); run++) {
  Object.assign(traffic, { uploads: 0, uploadBytes: 0, readbacks: 0, readbackBytes: 0 });
  const stages: Record<string, number> = {};
  let stage = 'start';
  let since = performance.now();
  let layerMs = 0;
  const onEvent = (event: PruneEvent) => {
    if (event.type === 'layer') layerMs += event.layer.ms;
    if (event.type !== 'stage') return;
    const now = performance.now();
    stages[stage] = (stages[stage] ?? 0) + now - since;
    [stage, since] = [event.stage, now];
  };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await pruneModel(
    ctx,
    model,
    settings,
    { calibration },
    {
      output: { sinkFor: async () => memoryByteSink() },
      onEvent,
    },
  );
  const total = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  stages[stage] = (stages[stage] ?? 0) + performance.now() - since;
  const row = {
    total,
    cpu: (cpu.user + cpu.system) / 1000,
    calibrating: stages.calibrating ?? 0,
    pruning: stages.pruning ?? 0,
    solver: layerMs,
    forward: (stages.pruning ?? 0) - layerMs,
    writing: stages.writing ?? 0,
    ...traffic,
  };
  rows.push(row);
  console.log(
    `run ${run + 1}: total ${ms(total)} (CPU time ${ms(row.cpu)}), calibrating ${ms(row.calibrating)}, pruning ${ms(row.pruning)} ` +
      `(solver ${ms(row.solver)}, forward and the rest ${ms(row.forward)}), writing ${ms(row.writing)}; ` +
      `uploads ${traffic.uploads} (${kib(traffic.uploadBytes)}), readbacks ${traffic.readbacks} ` +
      `(${kib(traffic.readbackBytes)})`,
  );
}
const median = (key: string) => {
  const sorted = rows.map((r) => r[key]).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
console.log(
  `median: total ${ms(median('total'))}, CPU time ${ms(median('cpu'))}, solver ${ms(median('solver'))}, forward and the rest ${ms(median('forward'))}`,
);
ctx.destroy();

function ms(value: number): string {
  return `${(value / 1000).toFixed(2)} s`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/**
 * What a GPU context spends outside arithmetic, counted whatever code does it: pipelines compiled where
 * they were needed (computePipeline), bytes written to the GPU (every queue.writeBuffer, wrapped here) and read back
 * (buffers.ts's readbacks, from submit to the mapped bytes). A run takes the difference of two snapshots, so the
 * counters only ever grow.
 */

/** How many, how many bytes, and how many milliseconds (CPU time in the call, or wall time to completion). */
export interface Tally {
  count: number;
  bytes: number;
  ms: number;
}

export interface GpuActivity {
  /** Compute pipelines compiled where they were needed (blocking the run), with the wall time of the calls; the
   * ones compiled ahead by precompilePipelines are not counted. */
  pipelines: Tally;
  /** queue.writeBuffer calls: bytes and the CPU time of the call (the copy into Dawn's staging memory). */
  uploads: Tally;
  /** Buffers copied back and mapped: bytes and the wall time from the copy's submit to the bytes in hand. */
  readbacks: Tally;
}

export function emptyActivity(): GpuActivity {
  return {
    pipelines: { count: 0, bytes: 0, ms: 0 },
    uploads: { count: 0, bytes: 0, ms: 0 },
    readbacks: { count: 0, bytes: 0, ms: 0 },
  };
}

export function addTo(tally: Tally, bytes: number, ms: number): void {
  tally.count++;
  tally.bytes += bytes;
  tally.ms += ms;
}

/** A copy of the counters now. */
export function snapshotActivity(activity: GpuActivity): GpuActivity {
  return {
    pipelines: { ...activity.pipelines },
    uploads: { ...activity.uploads },
    readbacks: { ...activity.readbacks },
  };
}

/** What happened between two snapshots. */
export function activitySince(now: GpuActivity, before: GpuActivity): GpuActivity {
  const minus = (a: Tally, b: Tally): Tally => ({
    count: a.count - b.count,
    bytes: a.bytes - b.bytes,
    ms: a.ms - b.ms,
  });
  return {
    pipelines: minus(now.pipelines, before.pipelines),
    uploads: minus(now.uploads, before.uploads),
    readbacks: minus(now.readbacks, before.readbacks),
  };
}

/** Counts every queue.writeBuffer of `device` into `activity`. */
export function countUploads(device: GPUDevice, activity: GpuActivity): void {
  const queue = device.queue;
  const write = queue.writeBuffer.bind(queue);
  queue.writeBuffer = ((buffer, offset, data, dataOffset, size) => {
    const started = performance.now();
    write(buffer, offset, data, dataOffset, size);
    const elementBytes = ArrayBuffer.isView(data) ? (data as Float32Array).BYTES_PER_ELEMENT : 1;
    const bytes =
      size !== undefined ? size * elementBytes : data.byteLength - (dataOffset ?? 0) * elementBytes;
    addTo(activity.uploads, bytes, performance.now() - started);
  }) as GPUQueue['writeBuffer'];
}

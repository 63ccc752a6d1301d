/**
 * Checks shared by the forward tests: per-token NLL against the float64 reference, and runs that split a block's
 * work (token slices, token ranges, head groups).
 */
import { expect } from 'vitest';
import type { CaptureInput } from '../src/core/forward/block-runner';
import { readFloat32 } from '../src/core/gpu/buffers';
import type { GpuContext } from '../src/core/gpu/context';

/** What a block handed to capture: per group role, the token count of each call and all rows joined in order. */
export interface Captured {
  counts: Map<string, number[]>;
  rows: Map<string, Float32Array>;
}

/** A capture callback that reads every call's rows back and appends them to `captured`. */
export function recordCaptures(ctx: GpuContext): { captured: Captured; capture: CaptureInput } {
  const captured: Captured = { counts: new Map(), rows: new Map() };
  const capture: CaptureInput = async (group, X, count) => {
    const rows = await readFloat32(ctx, X, count * group.features);
    const before = captured.rows.get(group.role) ?? new Float32Array(0);
    const joined = new Float32Array(before.length + rows.length);
    joined.set(before);
    joined.set(rows, before.length);
    captured.rows.set(group.role, joined);
    captured.counts.set(group.role, [...(captured.counts.get(group.role) ?? []), count]);
  };
  return { captured, capture };
}

/**
 * Per-token NLL of a split run: within 1e-4 of the float64 reference, and within 1e-6 of the same model run
 * unsplit (the LM head splits its vocabulary differently under a lower limit; the blocks do not differ).
 */
export function expectSplitNll(split: Float64Array, unsplit: Float64Array, reference: Float64Array): void {
  for (let t = 0; t < reference.length; t++) {
    if (Number.isNaN(reference[t])) {
      expect(split[t]).toBeNaN();
      continue;
    }
    const scale = Math.max(1, Math.abs(reference[t]));
    expect(Math.abs(split[t] - reference[t])).toBeLessThan(1e-4 * scale);
    expect(Math.abs(split[t] - unsplit[t])).toBeLessThan(1e-6 * scale);
  }
}

/** Per-token NLL within 1e-4 relative (absolute below 1): float32 GPU against the float64 reference. */
export function expectNllClose(gpu: Float64Array, cpu: Float64Array) {
  expect(gpu.length).toBe(cpu.length);
  let worst = 0;
  for (let i = 0; i < cpu.length; i++) {
    if (Number.isNaN(cpu[i])) {
      expect(gpu[i]).toBeNaN();
      continue;
    }
    worst = Math.max(worst, Math.abs(gpu[i] - cpu[i]) / Math.max(1, Math.abs(cpu[i])));
  }
  expect(worst).toBeLessThan(1e-4);
}

/**
 * What one GPU can bind, hold and dispatch, and the one error for work that does not fit (GpuLimitError): every
 * check of a binding, buffer, workgroup-memory or dispatch-size limit is here or calls here, and its message says
 * how much was needed, what the limit is, and what to lower.
 */
import { formatBytes } from '../format-bytes';
import type { GpuContext } from './context';

export class GpuLimitError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'GpuLimitError';
  }
}

/** The most bytes one buffer can be bound as storage: both the binding and the buffer limit apply. */
export function bindingLimit(ctx: GpuContext): number {
  return Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
}

/** How many items of `bytesPerItem` one binding holds (0 when not even one does). */
export function itemsPerBinding(ctx: GpuContext, bytesPerItem: number): number {
  return Math.floor(bindingLimit(ctx) / bytesPerItem);
}

/**
 * Throws when `bytes` cannot be bound as one storage buffer: "`what` needs X, more than this GPU's storage binding
 * limit of Y (`why`): `remedy`", where `remedy` says what the caller should lower.
 */
export function requireBindable(
  ctx: GpuContext,
  bytes: number,
  what: string,
  remedy: string,
  why?: string,
): void {
  const limit = bindingLimit(ctx);
  if (bytes <= limit) return;
  throw new GpuLimitError(
    `${what} needs ${formatBytes(bytes)}, more than this GPU's storage binding limit of ${formatBytes(limit)}` +
      `${why ? ` (${why})` : ''}: ${remedy}`,
  );
}

/** Throws when one buffer of `bytes` exceeds the device's buffer size limit. */
export function requireBufferSize(ctx: GpuContext, bytes: number, label: string): void {
  if (bytes > ctx.limits.maxBufferSize) {
    throw new GpuLimitError(
      `${label} needs ${bytes} bytes but this GPU allows at most ${ctx.limits.maxBufferSize} per buffer`,
    );
  }
}

/** How a split matrix cuts its rows (split-matrix.ts). */
export interface RowLayout {
  /** Where the matrix is split, parts hold a multiple of this many rows (all but the last). Default 1. */
  rowAlign?: number;
  /**
   * True where kernels bind tiles of rowAlign rows that must not straddle two buffers (the solver's H and U): then
   * fewer than rowAlign rows per binding is an error. Otherwise parts fall back to as many rows as fit.
   */
  alignRequired?: boolean;
}

/**
 * Rows per part of a [rows, cols] f32 matrix of which each part must fit one binding: all of them where they
 * fit, else as many as fit, rounded down to a multiple of rowAlign where at least rowAlign fit.
 */
export function rowsPerPart(
  ctx: GpuContext,
  rows: number,
  cols: number,
  label: string,
  layout: RowLayout = {},
): number {
  const rowBytes = Math.max(1, cols) * 4;
  const limit = bindingLimit(ctx);
  const fitting = Math.floor(limit / rowBytes);
  if (fitting >= rows) return Math.max(rows, 1);
  const align = layout.rowAlign ?? 1;
  const aligned = Math.floor(fitting / align) * align;
  if (aligned >= align && aligned >= 1) return aligned;
  if (layout.alignRequired) {
    throw new GpuLimitError(
      `${label}: ${align} rows of ${cols} floats (${align * rowBytes} bytes) exceed this GPU's ` +
        `storage binding limit of ${limit} bytes`,
    );
  }
  requireBindable(
    ctx,
    rowBytes,
    `${label}: one row of ${cols} floats`,
    'this model is too wide for this GPU',
  );
  return fitting;
}

/**
 * Workgroups for `items` independent work items of `perGroup` each, spread over x and y where one dimension does
 * not hold them all (kernels number items as (y·num_workgroups.x + x)·perGroup + lane and skip those past the end).
 */
export function workgroupGrid(ctx: GpuContext, items: number, perGroup = 1): [number, number] {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  const groups = Math.max(1, Math.ceil(items / perGroup));
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  if (y > max) {
    throw new GpuLimitError(
      `${items} work items are more than one dispatch covers (at most ${max * max * perGroup}): ` +
        'lower the sequence length or the sequences per batch',
    );
  }
  return [Math.ceil(groups / y), y];
}

/** Workgroups along one dimension, with an error that names `what` past the device's maximum. */
export function groupsAlong(ctx: GpuContext, items: number, perGroup: number, what: string): number {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  const groups = Math.max(1, Math.ceil(items / perGroup));
  if (groups > max) {
    throw new GpuLimitError(
      `${what}: ${items} is more than one dispatch covers (at most ${max * perGroup}): lower it`,
    );
  }
  return groups;
}

/** Throws when one workgroup needs more workgroup memory than this GPU has. */
export function requireWorkgroupMemory(ctx: GpuContext, bytes: number, what: string, remedy: string): void {
  const limit = ctx.limits.maxComputeWorkgroupStorageSize;
  if (bytes > limit) {
    throw new GpuLimitError(
      `${what} needs ${bytes} bytes of workgroup memory, more than this GPU's ${limit}: ${remedy}`,
    );
  }
}

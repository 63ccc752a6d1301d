/**
 * A buffer of a block's work measured per token, and how many tokens of it one binding holds: what each way of
 * splitting the block (token slices, head groups, token ranges, chunks) sizes itself by.
 */
import type { GpuContext } from '../gpu/context';
import { itemsPerBinding } from '../gpu/limits';

export interface ScratchSpec {
  name: string;
  floatsPerToken: number;
  /** Why a whole-chunk buffer cannot be sliced, for the error that says it does not fit. */
  whole?: string;
}

export function widest(specs: ScratchSpec[]): ScratchSpec {
  return specs.reduce((a, b) => (b.floatsPerToken > a.floatsPerToken ? b : a));
}

/** How many groups of `tokens` tokens of `spec` one binding holds. */
export function fitting(ctx: GpuContext, spec: ScratchSpec, tokens: number): number {
  return itemsPerBinding(ctx, spec.floatsPerToken * 4 * tokens);
}

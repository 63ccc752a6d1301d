/**
 * Token slices: a block's per-token work (norms, the q|k|v projection's input, o_proj, the MLP, the residual adds)
 * done a slice of tokens at a time, in slice-sized buffers, where the per-token intermediates of a whole chunk do
 * not fit one binding (the gate|up projection of one Llama-7B sequence of 2048 tokens is 172 MiB, the default
 * binding limit 128 MiB). Each token's arithmetic is the same in any slice, so the output is bit-identical.
 */
import type { GpuContext } from '../gpu/context';
import type { SplitMatrix } from '../gpu/split-matrix';
import type { Architecture } from './architecture';
import { fitting, type ScratchSpec, widest } from './scratch-spec';

/** The widest MLP of any block (a dense one's intermediate size, or an expert's) and the most experts of one. */
export function mlpShape(arch: Architecture): { intermediate: number; experts: number } {
  let shape = shapes.get(arch);
  if (!shape) {
    shape = { intermediate: 0, experts: 0 };
    for (let index = 0; index < arch.numBlocks; index++) {
      const moe = arch.block(index).moe;
      shape.intermediate = Math.max(shape.intermediate, moe ? moe.intermediateSize : arch.intermediateSize);
      shape.experts = Math.max(shape.experts, moe?.experts ?? 0);
    }
    shapes.set(arch, shape);
  }
  return shape;
}

const shapes = new WeakMap<Architecture, { intermediate: number; experts: number }>();

/**
 * The slice-sized buffers: normalised states, the residual stream, the MLP's up projection and activation (sized
 * for the widest MLP, a dense one's or one expert's), and for mixtures of experts the router's logits and one
 * expert's input and output rows (expert-mlp.ts allocates those).
 */
export function sliceSpecs(arch: Architecture): ScratchSpec[] {
  return [...blockSliceSpecs(arch), ...expertSliceSpecs(arch)];
}

/** The slice-sized buffers every block runner holds: normed, residual, gate|up (or fc1) and the activation. */
export function blockSliceSpecs(arch: Architecture): ScratchSpec[] {
  const gated = arch.mlp.kind === 'gated';
  const { intermediate } = mlpShape(arch);
  const specs: ScratchSpec[] = [
    { name: 'normalised hidden states', floatsPerToken: arch.hiddenSize },
    { name: 'residual stream', floatsPerToken: arch.hiddenSize },
    {
      name: gated ? 'gate|up projection' : 'MLP intermediate',
      floatsPerToken: gated ? 2 * intermediate : intermediate,
    },
  ];
  if (gated) specs.push({ name: 'MLP intermediate', floatsPerToken: intermediate });
  return specs;
}

/** A mixture of experts' own slice-sized buffers: the router's logits, one expert's input and output rows. */
export function expertSliceSpecs(arch: Architecture): ScratchSpec[] {
  const { experts } = mlpShape(arch);
  if (experts === 0) return [];
  return [
    { name: 'router logits', floatsPerToken: experts },
    { name: 'expert input', floatsPerToken: arch.hiddenSize },
    { name: 'expert output', floatsPerToken: arch.hiddenSize },
  ];
}

/** The most tokens one slice may hold. */
export function tokensPerSlice(ctx: GpuContext, arch: Architecture): number {
  return fitting(ctx, widest(sliceSpecs(arch)), 1);
}

/**
 * [first token, tokens] of each slice of `tokens` tokens: cut where any of `split` starts another buffer, so that
 * no slice straddles two, and each piece in as few slices of at most `capacity` tokens as possible, of near-equal
 * size. Where everything is one buffer, these are the slices of the whole chunk.
 */
export function tokenSlices(tokens: number, split: SplitMatrix[], capacity: number): Array<[number, number]> {
  const cuts = new Set([0, tokens]);
  for (const matrix of split) {
    for (const part of matrix.parts) if (part.firstRow < tokens) cuts.add(part.firstRow);
  }
  const bounds = [...cuts].sort((a, b) => a - b);
  return bounds.slice(1).flatMap((end, i) => evenSlices(bounds[i], end - bounds[i], capacity));
}

function evenSlices(first: number, tokens: number, capacity: number): Array<[number, number]> {
  const count = Math.ceil(tokens / capacity);
  const size = Math.ceil(tokens / count);
  const slices: Array<[number, number]> = [];
  for (let start = 0; start < tokens; start += size)
    slices.push([first + start, Math.min(size, tokens - start)]);
  return slices;
}

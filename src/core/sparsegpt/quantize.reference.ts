/**
 * The float64 CPU reference of SparseGPT's walk with quantization (joint sparsification and GPTQ, as the
 * SparseGPT paper's Section 3.5 describes it; with no mask, GPTQ), and of round-to-nearest after pruning. The walk
 * itself (errors, updates, the lazy batch update) is float64, as sparsegptReference's; where the solver rounds,
 * the reference uses the CPU ggml quantizers (src/core/quant/) on the weights as float32, so that with no error to
 * spread (H = I) it gives exactly what llama.cpp's quantizer gives. The scale search (GPTQ) is written here again
 * from its description in shaders/solver/quant_block_scales.wgsl, in float64.
 */
import type { BlockQuantizer } from '../quant/block-quantizer';
import { f32, throughHalf } from '../quant/float32';
import { GGML_TYPES, type GgmlType } from '../quant/ggml-types';
import { blockQuantizer, dequantizeRows, quantizeRows } from '../quant/rows';
import {
  type FloatArray,
  lazyUpdateInPlace,
  markGroup,
  markUnstructured,
  prepareReference,
  type SolveReferenceOptions,
  sparsegptReference,
} from './layer-solver.reference';

export interface QuantizeReferenceOptions extends SolveReferenceOptions {
  type: GgmlType;
  method: 'gptq' | 'rtn';
  /** GPTQ: search each block's scale (default true). */
  search?: boolean;
}

const ZERO_EXACT = (type: GgmlType) => type !== 'Q5_1' && type !== 'Q4_K' && type !== 'Q5_K';

/** One weight rounded to its block's grid (F16: to the nearest half). */
function rounded(quantizer: BlockQuantizer | undefined, scales: unknown, x: number, index: number): number {
  if (!quantizer) return throughHalf(x);
  return quantizer.value(quantizer.code(f32(x), scales, index), scales, index);
}

/** The legacy block's scale of least Σ ω (x − q)² among ggml's own and the searched candidates. */
function searchedScales(
  quantizer: BlockQuantizer,
  type: GgmlType,
  x: Float32Array,
  omega: Float64Array,
): unknown {
  const error = (scales: unknown) => {
    let sum = 0;
    for (let i = 0; i < 32; i++) sum += omega[i] * (x[i] - rounded(quantizer, scales, x[i], i)) ** 2;
    return sum;
  };
  let best = quantizer.scales(x, 0);
  let bestError = error(best);
  let amax = 0;
  let extreme = 0;
  for (const v of x) {
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      extreme = v;
    }
  }
  if (amax === 0) return best;
  const [low, high, reach] =
    type === 'Q8_0'
      ? [-128, 127, 127 / amax]
      : type === 'Q5_0'
        ? [-16, 15, -16 / extreme]
        : [-8, 7, -8 / extreme];
  for (let step = -8; step <= 24; step++) {
    const iscale = reach * (1 + 0.0125 * step);
    let sumXL = 0;
    let sumL2 = 0;
    for (let i = 0; i < 32; i++) {
      const l = Math.min(high, Math.max(low, Math.round(iscale * x[i])));
      sumXL += omega[i] * x[i] * l;
      sumL2 += omega[i] * l * l;
    }
    if (!(sumL2 > 0)) continue;
    const d = throughHalf(sumXL / sumL2);
    if (d === 0) continue;
    const candidate = { d, inverse: f32(1 / d), min: 0, m: 0 };
    const candidateError = error(candidate);
    if (candidateError < bestError) {
      bestError = candidateError;
      best = candidate;
    }
  }
  return best;
}

/** W [rows, cols] pruned and quantized as the GPU solver does, in float64 (float32 where ggml rounds). */
export function quantizeReference(
  W: ArrayLike<number>,
  rows: number,
  cols: number,
  H: ArrayLike<number>,
  options: QuantizeReferenceOptions,
): Float64Array {
  const { type, method } = options;
  const pattern = options.pattern ?? 'unstructured';
  if (method === 'rtn') {
    const pruned = sparsegptReference(W, rows, cols, H, options).W;
    const values = Float32Array.from(pruned);
    return Float64Array.from(dequantizeRows(type, quantizeRows(type, values, cols), values.length));
  }
  const quantizer = blockQuantizer(type);
  const groupColumns = GGML_TYPES[type].blockSize;
  const unit = groupColumns * (pattern === 'unstructured' || groupColumns % pattern.m === 0 ? 1 : pattern.m);
  const blockSize = Math.ceil((options.blockSize ?? 128) / unit) * unit;
  const search = options.search ?? true;
  const { U, dead } = prepareReference(H, cols, options.percdamp ?? 0.01);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) out[i] = dead[i % cols] ? 0 : W[i];
  const prunes = pattern !== 'unstructured' || options.sparsity > 0;
  const scales: unknown[] = new Array(rows);
  for (let i1 = 0; i1 < cols; i1 += blockSize) {
    const i2 = Math.min(i1 + blockSize, cols);
    const count = i2 - i1;
    const W1 = new Float64Array(rows * count);
    for (let r = 0; r < rows; r++) for (let c = 0; c < count; c++) W1[r * count + c] = out[r * cols + i1 + c];
    const diagonal = (c: number) => U[(i1 + c) * cols + i1 + c];
    const mask = new Uint8Array(rows * count);
    if (pattern === 'unstructured' && prunes) markUnstructured(mask, W1, count, diagonal, options.sparsity);
    const Err1 = new Float64Array(rows * count);
    for (let i = 0; i < count; i++) {
      const d = diagonal(i);
      if (pattern !== 'unstructured' && i % pattern.m === 0) {
        markGroup(mask, W1, rows, count, i, diagonal, pattern);
      }
      const index = (i1 + i) % groupColumns;
      if (quantizer && index === 0) {
        const omega = Float64Array.from({ length: groupColumns }, (_, c) => 1 / diagonal(i + c) ** 2);
        for (let r = 0; r < rows; r++) {
          const group = Float32Array.from(W1.subarray(r * count + i, r * count + i + groupColumns));
          const legacySearch = search && groupColumns === 32 && type !== 'Q5_1';
          scales[r] = legacySearch
            ? searchedScales(quantizer, type, group, omega)
            : quantizer.scales(group, 0);
        }
      }
      for (let r = 0; r < rows; r++) {
        const w = W1[r * count + i];
        let q: number;
        if (mask[r * count + i]) q = ZERO_EXACT(type) ? 0 : rounded(quantizer, scales[r], 0, index);
        else q = rounded(quantizer, scales[r], w, index);
        const err = (w - q) / d;
        out[r * cols + i1 + i] = q;
        for (let j = i; j < count; j++) W1[r * count + j] -= err * U[(i1 + i) * cols + i1 + j];
        Err1[r * count + i] = err;
      }
    }
    lazyUpdateInPlace(out as FloatArray, rows, cols, Err1, U, i1, count, (p) => (i1 + p) * cols);
  }
  return out;
}

/**
 * A block's MLP over one token slice, from its normalised input: the dense MLP (gate|up or fc1, the activation,
 * the down projection's input captured and left for the caller) or a mixture of experts' routed experts
 * (expert-mlp.ts), which writes h + Σ routed experts itself.
 */

import type { BlockCall, RowsAt } from './block-call';
import type { GroupWeights } from './block-weights';
import { encodeLinear } from './kernels/linear';
import { encodeGatedActivation } from './kernels/swiglu';

/**
 * The dense MLP's input capture, gate|up (or fc1), activation and the capture of the down projection's input,
 * which is left in `buffers.activated`; returns the down projection's weights for the caller to apply.
 */
export async function encodeDenseMlp(
  call: BlockCall,
  input: GPUBuffer,
  count: number,
): Promise<GroupWeights> {
  const { ctx, arch, buffers, recorder, weights } = call;
  const { mlp, mlp_output } = weights.groups;
  if (!mlp || !mlp_output) throw new Error(`block ${weights.spec.index} has no dense MLP`);
  const gated = arch.mlp.kind === 'gated';
  await call.capture(mlp.group, input, count);
  encodeLinear(ctx, recorder, {
    X: input,
    tokens: count,
    W: mlp.W,
    bias: mlp.bias,
    activation: gated ? 'identity' : arch.mlp.activation,
    Y: buffers.up,
  });
  if (gated) {
    encodeGatedActivation(ctx, recorder, {
      gateUp: buffers.up,
      tokens: count,
      intermediate: mlp.group.rows / 2,
      activation: arch.mlp.activation,
      Y: buffers.activated,
    });
  }
  await call.capture(mlp_output.group, buffers.activated, count);
  return mlp_output;
}

/**
 * Mixture-of-experts blocks: out = h + Σ routed experts(normed) for the slice's `count` tokens, h in
 * `buffers.residual` and the normalised states in `buffers.normed`. Returns false for a dense block.
 */
export async function encodeExpertMlp(call: BlockCall, count: number, out: RowsAt): Promise<boolean> {
  const { buffers, weights } = call;
  if (!weights.moe || !buffers.experts) return false;
  const { moe } = weights.spec;
  if (!moe) throw new Error(`block ${weights.spec.index}: expert weights without a router spec`);
  await buffers.experts.encode({
    recorder: call.recorder,
    weights: weights.moe,
    spec: moe,
    normed: buffers.normed,
    tokens: count,
    residual: buffers.residual,
    out,
    everyToken: call.options.capture !== undefined && call.options.expertCalibration === 'all',
    capture: call.capture,
  });
  return true;
}

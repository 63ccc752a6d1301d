/**
 * The per-token part of a block, one token slice at a time into the block's output: o_proj with its way back into
 * the residual stream, then the MLP (block-mlp.ts) with its own. Pre-norm families normalise each sublayer's input
 * (Gemma: its output too); post-norm (OPT-350m) normalises after each residual add.
 */
import type { BlockCall, RowsAt } from './block-call';
import { encodeBlockNorm } from './block-call';
import { encodeDenseMlp, encodeExpertMlp } from './block-mlp';
import type { GroupWeights } from './block-weights';
import { encodeLinear } from './kernels/linear';
import type { NormWeights } from './kernels/norm';

/** o_proj + residual, then the MLP + residual, for tokens [start, start + count) into `out`. */
export async function encodeTokenSlice(call: BlockCall, start: number, count: number): Promise<void> {
  if (call.arch.normFirst) await encodePreNormSlice(call, start, count);
  else await encodePostNormSlice(call, start, count);
}

/**
 * Pre-norm: h = x + o_proj(attention) (Gemma: x + norm(o_proj(attention))) into the residual stream, then
 * out = h + mlp(norm(h)) (Gemma: h + norm(mlp(norm(h))); a mixture of experts: h + Σ routed experts).
 */
async function encodePreNormSlice(call: BlockCall, start: number, count: number): Promise<void> {
  const { weights, buffers } = call;
  const attended = buffers.attention.rowsAt(start, count);
  const x = call.hidden.rowsAt(start, count);
  const y = call.out.rowsAt(start, count);
  encodeSublayerOutput(call, {
    group: weights.groups.attention_output,
    X: attended.buffer,
    xRowStart: attended.row,
    tokens: count,
    postNorm: weights.postAttentionNorm,
    residual: x,
    Y: { buffer: buffers.residual, row: 0 },
  });
  encodeBlockNorm(call, weights.mlpNorm, buffers.residual, 0, count, buffers.normed);
  if (await encodeExpertMlp(call, count, { buffer: y.buffer, row: y.row })) return;
  const down = await encodeDenseMlp(call, buffers.normed, count);
  encodeSublayerOutput(call, {
    group: down,
    X: buffers.activated,
    xRowStart: 0,
    tokens: count,
    postNorm: weights.postMlpNorm,
    residual: { buffer: buffers.residual, row: 0 },
    Y: { buffer: y.buffer, row: y.row },
  });
}

/**
 * Post-norm (OPT-350m): hidden + o_proj is normalised into the residual stream, and the MLP's output plus that
 * stream normalised again into `out`.
 */
async function encodePostNormSlice(call: BlockCall, start: number, count: number): Promise<void> {
  const { ctx, recorder, weights, buffers } = call;
  const attended = buffers.attention.rowsAt(start, count);
  const x = call.hidden.rowsAt(start, count);
  const y = call.out.rowsAt(start, count);
  const output = weights.groups.attention_output;
  encodeLinear(ctx, recorder, {
    X: attended.buffer,
    xRowStart: attended.row,
    tokens: count,
    W: output.W,
    bias: output.bias,
    residual: x.buffer,
    residualRowStart: x.row,
    Y: buffers.normed,
  });
  encodeBlockNorm(call, weights.attentionNorm, buffers.normed, 0, count, buffers.residual);
  const down = await encodeDenseMlp(call, buffers.residual, count);
  encodeLinear(ctx, recorder, {
    X: buffers.activated,
    tokens: count,
    W: down.W,
    bias: down.bias,
    residual: buffers.residual,
    Y: buffers.normed,
  });
  encodeBlockNorm(call, weights.mlpNorm, buffers.normed, 0, count, y.buffer, y.row);
}

/**
 * A sublayer's last linear and its way back into the residual stream: Y = X·Wᵀ + b + residual, or with a post
 * norm (Gemma) Y = norm(X·Wᵀ + b) + residual, the linear's output held in the normalised-states buffer (free by
 * then: the attention's and the MLP's inputs have been read).
 */
function encodeSublayerOutput(
  call: BlockCall,
  args: {
    group: GroupWeights;
    X: GPUBuffer;
    xRowStart: number;
    tokens: number;
    postNorm?: NormWeights;
    residual: RowsAt;
    Y: RowsAt;
  },
): void {
  const { group, X, xRowStart, tokens, postNorm, residual, Y } = args;
  const linear = { X, xRowStart, tokens, W: group.W, bias: group.bias };
  if (!postNorm) {
    encodeLinear(call.ctx, call.recorder, {
      ...linear,
      residual: residual.buffer,
      residualRowStart: residual.row,
      Y: Y.buffer,
      yRowStart: Y.row,
    });
    return;
  }
  encodeLinear(call.ctx, call.recorder, { ...linear, Y: call.buffers.normed });
  encodeBlockNorm(call, postNorm, call.buffers.normed, 0, tokens, Y.buffer, Y.row, residual);
}

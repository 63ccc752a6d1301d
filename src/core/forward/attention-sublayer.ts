/**
 * A block's attention sublayer over one chunk: head group by head group (one group of every head unless the
 * chunk's q|k|v exceeds one binding, head-groups.ts), the q|k|v projection, per-head q/k norms where the family has
 * them, rotary with the layer's RoPE, then causal attention within the layer's sliding window and with the model's
 * score soft-capping into the group's columns of the attention output — or, for a generation step past the prompt,
 * attention over the KV cache (cached-attention.ts). A new attention feature goes into both attention paths.
 */
import { type BlockCall, encodeBlockNorm, headGroupScoresAndOutput } from './block-call';
import { encodeCachedAttention } from './cached-attention';
import { encodeHeadGroupProjection, type HeadGroup, queriesPerKvHead } from './head-groups';
import { encodeAttention } from './kernels/attention';
import { encodeHeadNorm } from './kernels/head-norm';
import { encodeRotary } from './kernels/rotary';
import type { GroupProjection } from './kv-cache';
import { queryRanges } from './token-ranges';

/**
 * The group's q|k|v goes into the whole-chunk buffer that attention reads, and attention writes the group's
 * columns of the attention output. Pre-norm projects norm(hidden) slice by slice; post-norm (OPT-350m) projects
 * the block input, which the caller holds whole or in token ranges. The projection's input is captured with the
 * first group only; later groups normalise the slices again, since the normalised states are held one slice at
 * a time (the same arithmetic, and a small fraction of the projection's). The attention output is captured last.
 */
export async function encodeAttentionSublayer(call: BlockCall): Promise<void> {
  const { ctx, arch, buffers, recorder, weights, tokens } = call;
  const { attention, attention_output } = weights.groups;
  for (const [index, heads] of buffers.headGroups.entries()) {
    await eachAttentionInput(call, async (X, start, count) => {
      if (index === 0) await call.capture(attention.group, X, count);
      encodeHeadGroupProjection(ctx, recorder, arch, heads, {
        attention,
        X,
        tokens: count,
        qkv: buffers.qkv,
        yRowStart: start,
      });
    });
    encodeHeadGroupAttention(call, heads);
  }
  for (const [part, from, to] of buffers.attention.overlaps(0, tokens)) {
    await call.capture(attention_output.group, part.buffer, to - from);
  }
}

/**
 * Only the q|k|v projection's input, captured exactly as the whole sublayer captures it (the same slices, the same
 * norm): the pruner's first pass, so that q, k and v can be solved before the rest of the block has run.
 */
export async function captureAttentionInput(call: BlockCall): Promise<void> {
  const { attention } = call.weights.groups;
  await eachAttentionInput(call, (X, _start, count) => call.capture(attention.group, X, count));
  call.recorder.submit();
}

/**
 * The q|k|v projection's input in token order: pre-norm, norm(hidden) slice by slice into the runner's normalised
 * states (held one slice at a time); post-norm, the block input part by part as the caller holds it.
 */
async function eachAttentionInput(
  call: BlockCall,
  visit: (X: GPUBuffer, start: number, count: number) => Promise<void>,
): Promise<void> {
  const { arch, buffers, weights, hidden, tokens } = call;
  if (!arch.normFirst) {
    for (const [part, from, to] of hidden.overlaps(0, tokens)) await visit(part.buffer, from, to - from);
    return;
  }
  for (const [start, count] of call.slices) {
    const x = hidden.rowsAt(start, count);
    encodeBlockNorm(call, weights.attentionNorm, x.buffer, x.row, count, buffers.normed);
    await visit(buffers.normed, start, count);
  }
}

/**
 * Rotates a head group's queries and keys in place, then writes its columns of the attention output, token
 * range by token range.
 */
function encodeHeadGroupAttention(call: BlockCall, heads: HeadGroup): void {
  const { arch, ctx, buffers, recorder, tokens } = call;
  const { seqLen, positionOffset, sequenceLength } = call.options;
  const { spec, qNorm, kNorm } = call.weights;
  const queryHeads = heads.kvHeads * queriesPerKvHead(arch);
  const keyColumn = queryHeads * arch.headDim;
  const kvWidth = heads.kvHeads * arch.headDim;
  const rowStride = keyColumn + 2 * kvWidth;
  if (qNorm && kNorm) {
    encodeHeadNorm(ctx, recorder, {
      qkv: buffers.qkv,
      tokens,
      rowStride,
      queryHeads,
      kvHeads: heads.kvHeads,
      headDim: arch.headDim,
      eps: arch.norm.eps,
      queryWeight: qNorm.weight,
      keyWeight: kNorm.weight,
    });
  }
  const rope = spec.rope ?? arch.rope;
  if (rope) {
    encodeRotary(ctx, recorder, {
      qkv: buffers.qkv,
      tokens,
      seqLen,
      rowStride,
      rotatedHeads: queryHeads + heads.kvHeads,
      headDim: arch.headDim,
      rotaryDim: rope.rotaryDim,
      table: buffers.ropeTables.get(rope, seqLen, positionOffset ?? 0, sequenceLength),
    });
  }
  const projection: GroupProjection = {
    qkv: buffers.qkv,
    heads,
    rowStride,
    keyColumn,
    valueColumn: keyColumn + kvWidth,
  };
  if (encodeCachedAttention(call, projection)) return;
  // Each token range of the attention output gets its own queries; they read keys from their sequence's start.
  for (const [part, from, to] of buffers.attention.overlaps(0, tokens)) {
    for (const queries of queryRanges(from, to, seqLen)) {
      encodeAttention(ctx, recorder, {
        qkv: buffers.qkv,
        ...queries,
        seqLen,
        heads: queryHeads,
        kvHeads: heads.kvHeads,
        headDim: arch.headDim,
        rowStride,
        keyColumn,
        valueColumn: keyColumn + kvWidth,
        ...headGroupScoresAndOutput(call, heads, part),
      });
    }
  }
}

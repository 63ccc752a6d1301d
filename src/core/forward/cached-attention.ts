/**
 * Generation's branch of a block's attention (src/core/generate): the call runs one sequence with the block's KV
 * cache (kv-cache.ts). Its keys and values are stored at their positions after RoPE; a call at position 0 (the
 * prompt) then attends as any forward does, a later call (each new token) attends over the cache instead.
 */
import { type BlockCall, headGroupScoresAndOutput } from './block-call';
import type { GroupProjection } from './kv-cache';

/**
 * Stores the head group's keys and values where the call has a cache; returns true where it has also written the
 * group's columns of the attention output from the cache (a step past the prompt), false where causal attention
 * over the call's own tokens is still to run.
 */
export function encodeCachedAttention(call: BlockCall, projection: GroupProjection): boolean {
  const { buffers, recorder, tokens } = call;
  const { cache, positionOffset } = call.options;
  const position = positionOffset ?? 0;
  cache?.store(recorder, projection, tokens, position);
  if (!cache || position <= 0) return false;
  for (const [part, from, to] of buffers.attention.overlaps(0, tokens)) {
    cache.attend(recorder, {
      ...projection,
      queryRowStart: from,
      queries: to - from,
      position,
      ...headGroupScoresAndOutput(call, projection.heads, part),
    });
  }
  return true;
}

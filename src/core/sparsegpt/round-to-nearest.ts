/**
 * Round-to-nearest on the walk's kernels: every block's scales by ggml's own rules from W as it is (after any
 * pruning), then each weight rounded to its block's grid with no error spread. With the same type this is what
 * llama.cpp's quantizer writes, bit for bit; it is the baseline GPTQ is compared with, and the second step of
 * "prune, then round".
 */
import { placeholderBuffer } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import type { CommandRecorder } from '../gpu/recorder';
import type { LayerSolve } from './prune';
import { encodeBlockScales, scaleStride } from './quant-scales';
import { encodePruneBlockWalk } from './walk';

export async function encodeRoundToNearest(
  ctx: GpuContext,
  recorder: CommandRecorder,
  { W, settings, scales }: LayerSolve,
): Promise<void> {
  const quantization = settings.quantization;
  if (!quantization) return;
  const stride = scaleStride(quantization, W.cols);
  const placeholder = placeholderBuffer(ctx);
  // Bound read-write, so not the placeholder that the read-only bindings share.
  const err = recorder.buffer(16, 'err');
  // The whole row is one "block" of the walk; it only rounds, so U, Err and the select state are never read.
  const block = {
    columns: W.cols,
    blockStart: 0,
    blockCount: W.cols,
    errStride: 0,
    uPanel: placeholder,
    panelStride: 0,
    selectState: placeholder,
  };
  await recorder.step('round', () => {
    W.parts.forEach((part, i) => {
      if (quantization.scaleWords > 0 && scales) {
        encodeBlockScales(ctx, recorder, part, scales[i], quantization, {
          columns: W.cols,
          groupStart: 0,
          groupCount: W.cols / quantization.blockColumns,
          scaleStride: stride,
        });
      }
      encodePruneBlockWalk(ctx, recorder, part, block, settings, {
        mask: 'none',
        quantization,
        spread: false,
        range: { start: 0, end: W.cols },
        err,
        scales: scales?.[i],
        scaleStride: stride,
      });
    });
  });
}

/**
 * `prune --quantize … --format safetensors` for a family llama.cpp has no architecture for (OPT), through the real
 * CLI: the dequantized values need no GGUF, so every linear is rounded by the recipe's type per linear, its values
 * on the Q8_0 grid; `--format gguf` is still refused with the message that says why, and nothing is written.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openModel } from '../../src/core/pipeline/open-model';
import { openFolder } from '../../src/node/files';
import { runCli, smallPruneArgs } from '../cli';
import { writeTinyOptFolder } from '../model-folder';

const scratch = mkdtempSync(join(tmpdir(), 'quantize-families-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Whether each block of 32 values is d·q for one d and whole q in −128…127 (the largest |value| is |d|·k, k ≤ 128). */
function offQ8Grid(W: Float32Array): number {
  let off = 0;
  for (let start = 0; start < W.length; start += 32) {
    const block = Array.from(W.subarray(start, start + 32));
    const amax = Math.max(...block.map(Math.abs));
    if (amax === 0) continue;
    const onGrid = (k: number) =>
      block.every((v) => Math.abs((v / amax) * k - Math.round((v / amax) * k)) < 1e-3);
    if (!Array.from({ length: 128 }, (_, i) => i + 1).some(onGrid)) off++;
  }
  return off;
}

describe('OPT with --quantize', () => {
  it('--format safetensors writes every linear on the Q8_0 grid', { timeout: 300_000 }, async () => {
    const model = await writeTinyOptFolder(join(scratch, 'opt'));
    const out = join(scratch, 'opt-q8_0');
    const run = await runCli(smallPruneArgs(model, out, ['--quantize', 'q8_0', '--format', 'safetensors']));
    expect({ code: run.code, err: run.code ? run.err : '' }).toEqual({ code: 0, err: '' });
    const { model: written } = await openModel(await openFolder(out));
    expect(written.checkpoint.metadata['sparsegpt.quantization']).toBe('gptq:q8_0');
    const linears = written.arch.prunableLinears();
    expect(linears.map((l) => l.name).slice(0, 6)).toEqual([
      'self_attn.q_proj',
      'self_attn.k_proj',
      'self_attn.v_proj',
      'self_attn.out_proj',
      'fc1',
      'fc2',
    ]);
    for (const linear of linears) {
      const W = await written.checkpoint.readFloat32(linear.tensor);
      expect({ tensor: linear.tensor, off: offQ8Grid(W) }).toEqual({ tensor: linear.tensor, off: 0 });
    }
    // The input's own weights are not on the grid: the check can fail.
    const { model: input } = await openModel(await openFolder(model));
    expect(offQ8Grid(await input.checkpoint.readFloat32(linears[0].tensor))).toBeGreaterThan(0);
  });

  it('--format gguf is refused: llama.cpp has no OPT architecture', { timeout: 120_000 }, async () => {
    const model = await writeTinyOptFolder(join(scratch, 'opt-gguf'));
    const out = join(scratch, 'opt.gguf');
    const run = await runCli(smallPruneArgs(model, out, ['--quantize', 'q8_0']));
    expect(run.code).toBe(2);
    expect(run.err).toContain('llama.cpp has no OPT architecture');
    expect(existsSync(out)).toBe(false);
  });
});

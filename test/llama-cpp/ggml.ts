/** llama.cpp's own ggml library (from node-llama-cpp's CPU build), driven through a small Python ctypes script. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const LLAMA_CPP_LIB_DIR = join(root, 'node_modules/@node-llama-cpp/linux-x64/bins/linux-x64');
const SCRIPT = fileURLToPath(new URL('ggml_quants.py', import.meta.url));

/** ggml_quantize_chunk's bytes for `values` (rows of `columns`) and ggml's dequantization of them. */
export function ggmlQuantize(
  type: string,
  values: Float32Array,
  columns: number,
): { bytes: Uint8Array; dequantized: Float32Array } {
  const dir = mkdtempSync(join(tmpdir(), 'ggml-quants-'));
  try {
    const input = join(dir, 'in.f32');
    writeFileSync(input, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    const args = [SCRIPT, LLAMA_CPP_LIB_DIR, type, String(values.length / columns), String(columns), input];
    const run = spawnSync('python3', [...args, join(dir, 'out.bin'), join(dir, 'out.f32')], {
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`ggml_quants.py failed: ${run.stderr || run.error}`);
    const dequantized = readFileSync(join(dir, 'out.f32'));
    return {
      bytes: new Uint8Array(readFileSync(join(dir, 'out.bin'))),
      dequantized: new Float32Array(dequantized.buffer, dequantized.byteOffset, values.length),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

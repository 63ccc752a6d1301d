/**
 * `sparsegpt prune-layer` end to end: real safetensors files in a temporary folder, the real GPU solve, the written
 * file read back and checked against the float64 reference; bad usage and bad input give exit code 2.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { useGpu } from '../../../test/gpu';
import { gaussian } from '../../../test/random';
import { openSafetensorsFile } from '../../core/io/checkpoint';
import { decodeFloats, encodeFloats } from '../../core/io/dtype';
import { encodeSafetensors, type TensorToWrite } from '../../core/io/safetensors-write';
import { correlatedInputs, maskAgreement, zerosInColumns } from '../../core/sparsegpt/layer-solver.fixtures';
import {
  hessianReference,
  reconstructionErrorReference,
  sparsegptReference,
} from '../../core/sparsegpt/layer-solver.reference';
import { fileByteSource } from '../../node/files';
import { UsageError } from '../command';
import { runCommand } from './index';
import { createPruneLayerCommand } from './prune-layer';

const rows = 24;
const cols = 40;
const tokens = 96;
const folder = mkdtempSync(join(tmpdir(), 'prune-layer-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function writeFile(name: string, tensors: TensorToWrite[]): string {
  const path = join(folder, name);
  writeFileSync(path, encodeSafetensors(tensors));
  return path;
}

const W = gaussian(rows * cols, 11);
const bias = gaussian(rows, 12);
const X = correlatedInputs(tokens, cols, 13);
// The inputs go to disk as F16, so the reference must see the same rounded values.
const XF16 = new Float32Array(X.length);
decodeFloats(encodeFloats(X, 'F16'), 'F16', XF16);
const weightPath = writeFile('layer.safetensors', [
  { name: 'weight', dtype: 'F32', shape: [rows, cols], data: W },
  { name: 'bias', dtype: 'F32', shape: [rows], data: bias },
]);
const inputsPath = writeFile('inputs.safetensors', [
  { name: 'inputs', dtype: 'F16', shape: [2, tokens / 2, cols], data: X },
]);

/** Runs `work` with console output captured. */
async function captured<T>(work: () => Promise<T>): Promise<{ result: T; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts) => void out.push(parts.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...parts) => void err.push(parts.join(' ')));
  try {
    return { result: await work(), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

async function readOutput(path: string) {
  const checkpoint = await openSafetensorsFile(await fileByteSource(path));
  return {
    names: checkpoint.tensors.map((t) => t.name).sort(),
    weight: await checkpoint.readFloat32('weight'),
    bias: await checkpoint.readFloat32('bias'),
    metadata: checkpoint.metadata,
  };
}

describe('sparsegpt prune-layer', () => {
  const gpu = useGpu();

  /** The command on the test file's shared GPU context (one shader compilation for all tests). */
  async function cli(...args: string[]): Promise<{ code: number; out: string }> {
    const command = createPruneLayerCommand(await gpu());
    const { result, out } = await captured(() => command.run(args));
    return { code: result, out };
  }

  it('prunes a layer from F16 inputs like the float64 reference and keeps the other tensors', async () => {
    const outPath = join(folder, 'pruned.safetensors');
    const args = ['--weight', weightPath, '--inputs', inputsPath, '--out', outPath];
    const { code, out } = await cli(...args, '--sparsity', '0.6', '--block-size', '16', '--damp', '0.02');
    expect(code).toBe(0);
    expect(out).toMatch(/sparsity: +60\.\d\d%/);
    expect(out).toMatch(/96 calibration tokens/);
    const written = await readOutput(outPath);
    expect(written.names).toEqual(['bias', 'weight']);
    expect(written.bias).toEqual(bias);
    expect(written.metadata['sparsegpt.method']).toBe('sparsegpt');
    expect(written.metadata['sparsegpt.percdamp']).toBe('0.02');

    const H = hessianReference(XF16, tokens, cols);
    const reference = sparsegptReference(W, rows, cols, H, { sparsity: 0.6, blockSize: 16, percdamp: 0.02 });
    expect(maskAgreement(written.weight, reference.W)).toBeGreaterThanOrEqual(0.995);
    const error = reconstructionErrorReference(W, written.weight, rows, cols, H).relativeError;
    const referenceError = reconstructionErrorReference(W, reference.W, rows, cols, H).relativeError;
    expect(Math.abs(error / referenceError - 1)).toBeLessThan(0.02);
    const printed = Number(/error: +(\S+) relative/.exec(out)?.[1]);
    expect(Math.abs(printed / referenceError - 1)).toBeLessThan(0.02);
    for (let start = 0; start < cols; start += 16) {
      const count = Math.min(16, cols - start);
      const zeros = zerosInColumns(written.weight, rows, cols, start, start + count);
      expect(zeros - Math.floor(rows * count * 0.6)).toBeGreaterThanOrEqual(0);
      expect(zeros - Math.floor(rows * count * 0.6)).toBeLessThanOrEqual(1);
    }
  });

  it('writes exactly N zeros per group of M with --pattern and a baseline method', async () => {
    const outPath = join(folder, 'wanda-2-4.safetensors');
    const { code } = await cli(
      ...['--weight', weightPath, '--inputs', inputsPath, '--out', outPath],
      ...['--pattern', '2:4', '--method', 'wanda'],
    );
    expect(code).toBe(0);
    const { weight, metadata } = await readOutput(outPath);
    expect(metadata['sparsegpt.pattern']).toBe('2:4');
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < cols; j += 4) {
        expect(zerosInColumns(weight.subarray(r * cols, (r + 1) * cols), 1, cols, j, j + 4)).toBe(2);
      }
    }
    // Wanda never updates the weights it keeps.
    for (let i = 0; i < W.length; i++) if (weight[i] !== 0) expect(weight[i]).toBe(W[i]);
  });

  it('answers bad usage and bad input with exit code 2 and a message naming the problem', async () => {
    const files = ['--weight', weightPath, '--inputs', inputsPath];
    const out = ['--out', join(folder, 'never.safetensors')];
    const wrongCols = writeFile('wrong.safetensors', [
      { name: 'inputs', dtype: 'F32', shape: [4, cols + 1], data: new Float32Array(4 * (cols + 1)) },
    ]);
    const nan = new Float32Array(tokens * cols).fill(1);
    nan[5 * cols + 3] = Number.NaN;
    const nanInputs = writeFile('nan.safetensors', [
      { name: 'inputs', dtype: 'F32', shape: [tokens, cols], data: nan },
    ]);
    const cases: Array<[string[], RegExp]> = [
      [[...files], /--out is required/],
      [[...files, ...out, '--sparsity', '0.5', '--pattern', '2:4'], /conflict/],
      [[...files, ...out, '--pattern', '1:3'], /multiple of 3, but it has 40 columns/],
      [
        [...files, ...out, '--sparsity', '1.5'],
        /--sparsity: Sparsity must be at least 0 and below 1 .*got 1\.5\./,
      ],
      [[...files, ...out, '--method', 'random'], /--method must be one of/],
      [
        [...files, ...out, '--block-size', '0'],
        /--block-size: The block size must be a whole number of columns ≥ 1; got 0\./,
      ],
      [['--weight', weightPath, '--inputs', wrongCols, ...out], /41 features per token/],
      [['--weight', inputsPath, '--inputs', inputsPath, ...out], /has no tensor "weight"/],
      [['--weight', join(folder, 'missing.safetensors'), '--inputs', inputsPath, ...out], /does not exist/],
      [['--weight', weightPath, '--inputs', nanInputs, ...out], /token 5, column 3 is NaN/],
    ];
    for (const [args, message] of cases) {
      await expect(cli(...args), args.join(' ')).rejects.toThrow(message);
      await expect(cli(...args)).rejects.toBeInstanceOf(UsageError);
    }
    // Through the real entry point: the message on stderr and exit code 2.
    for (const [args, message] of cases.slice(0, 4)) {
      const { result, err } = await captured(() => runCommand(['prune-layer', ...args]));
      expect(result).toBe(2);
      expect(err).toMatch(message);
    }
  });
});

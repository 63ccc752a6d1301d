/**
 * Re-reads a written model before anyone is told it is done: every tensor of the input is there with its dtype and
 * shape, untouched tensors are byte-identical, and each pruned tensor has at least the sparsity the run reported.
 */
import type { Checkpoint } from '../io/checkpoint';
import { openCheckpoint } from '../io/checkpoint';
import type { ModelFolder } from '../io/folder';
import type { LayerResult } from './types';

export class OutputVerificationError extends Error {
  constructor(message: string) {
    super(`The written model failed its check: ${message}. Nothing was kept; please report this.`);
    this.name = 'OutputVerificationError';
  }
}

export async function verifyPrunedOutput(
  input: Checkpoint,
  output: ModelFolder,
  layers: LayerResult[],
): Promise<void> {
  const written = await openCheckpoint(output);
  const pruned = new Map(layers.filter((l) => !l.skipped).map((l) => [l.tensor, l]));
  if (written.tensors.length !== input.tensors.length) {
    throw new OutputVerificationError(
      `it has ${written.tensors.length} tensors where the input has ${input.tensors.length}`,
    );
  }
  for (const tensor of input.tensors) {
    const copy = written.has(tensor.name) ? written.tensor(tensor.name) : undefined;
    if (!copy) throw new OutputVerificationError(`tensor ${tensor.name} is missing`);
    if (copy.dtype !== tensor.dtype || copy.shape.join() !== tensor.shape.join()) {
      throw new OutputVerificationError(`tensor ${tensor.name} changed dtype or shape`);
    }
    const layer = pruned.get(tensor.name);
    if (layer) {
      const values = await written.readFloat32(tensor.name);
      let zeros = 0;
      for (const v of values) if (v === 0) zeros++;
      // Narrow dtypes may round tiny kept weights to zero, never the other way.
      if (zeros < Math.round(layer.sparsity * values.length) - 1) {
        throw new OutputVerificationError(
          `tensor ${tensor.name} has ${zeros} zeros, fewer than the ${Math.round(layer.sparsity * values.length)} pruned`,
        );
      }
    } else if (!(await sameBytes(input, written, tensor.name))) {
      throw new OutputVerificationError(`untouched tensor ${tensor.name} differs from the input`);
    }
  }
}

async function sameBytes(a: Checkpoint, b: Checkpoint, name: string): Promise<boolean> {
  const left = a.byteChunks(name);
  const right = b.byteChunks(name);
  for (;;) {
    const [x, y] = await Promise.all([left.next(), right.next()]);
    if (x.done || y.done) return Boolean(x.done && y.done);
    if (x.value.length !== y.value.length) return false;
    for (let i = 0; i < x.value.length; i++) if (x.value[i] !== y.value[i]) return false;
  }
}

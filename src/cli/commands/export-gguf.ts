/** `sparsegpt export-gguf MODEL_DIR --type … --out FILE.gguf`: a model folder as one GGUF file for llama.cpp. */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { planGgufExport, verifyGgufExport, writeGgufExport } from '../../core/gguf/export';
import { FILE_TYPE_INFO, FILE_TYPES, type GgufFileType } from '../../core/gguf/recipe';
import { formatBytes, ModelFileError } from '../../core/io/errors';
import { fileByteSink, fileByteSource, openFolder } from '../../node/files';
import { parseArgs, stringOption } from '../args';
import { type Command, UsageError } from './index';

const USAGE = `usage: sparsegpt export-gguf MODEL_DIR --type TYPE --out FILE.gguf [--force]

Writes the model folder (config.json, safetensors weights, tokenizer) as one GGUF file that llama.cpp (and
Ollama, LM Studio, wllama …) runs, quantized round-to-nearest with llama.cpp's own rules.

  --type TYPE   f32 | f16 | q8_0 | q4_0 | q4_k_m (llama.cpp's mixed recipe: Q4_K with Q6_K for the sensitive
                tensors); a weight whose rows do not fill the type's blocks falls back as llama.cpp does
  --out FILE    the .gguf to write (written under a temporary name, checked, then renamed)
  --force       replace FILE if it exists`;

function countTypes(types: string[]): string {
  const counts = new Map<string, number>();
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
  return [...counts].map(([type, n]) => `${type}×${n}`).join(', ');
}

export const exportGguf: Command = {
  name: 'export-gguf',
  summary: 'write a model folder as one GGUF file for llama.cpp (f32, f16, q8_0, q4_0, q4_k_m)',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, ['type', 'out'], ['force']);
    if (args.positional.length !== 1) throw new UsageError(`give exactly one MODEL_DIR\n\n${USAGE}`);
    const type = stringOption(args, 'type');
    if (!type || !(FILE_TYPES as readonly string[]).includes(type)) {
      throw new UsageError(`--type must be one of ${FILE_TYPES.join(', ')}${type ? ` (got "${type}")` : ''}`);
    }
    const out = stringOption(args, 'out');
    if (!out) throw new UsageError(`--out FILE.gguf is required\n\n${USAGE}`);
    if (!out.toLowerCase().endsWith('.gguf'))
      throw new UsageError(`--out must name a .gguf file (got "${out}")`);
    const target = resolve(out);
    const existing = await stat(target).catch(() => undefined);
    if (existing?.isDirectory()) throw new UsageError(`${out} is a folder; --out must name a .gguf file`);
    if (existing && !args.options.has('force')) {
      throw new UsageError(`${out} already exists: choose another --out or add --force`);
    }
    const plan = await planGgufExport(await openFolder(args.positional[0]), type as GgufFileType);
    for (const warning of plan.warnings) console.error(`warning: ${warning}`);
    console.error(
      `${basename(args.positional[0])}: ${plan.tensors.length} tensors → ${FILE_TYPE_INFO[plan.fileType].label} ` +
        `(${countTypes(plan.tensors.map((t) => t.type))})`,
    );
    const staging = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.partial`);
    try {
      await writeGgufExport(await fileByteSink(staging), plan);
      await verifyGgufExport(await fileByteSource(staging, basename(out)), plan);
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { force: true });
      if (error instanceof ModelFileError && error.code === 'write-failed') {
        throw new ModelFileError(
          'write-failed',
          `${error.message.replaceAll(staging, out)}; nothing was left behind`,
          {
            file: out,
            cause: error,
          },
        );
      }
      throw error;
    }
    const size = plan.layout.fileBytes;
    console.log(
      `wrote ${out}: ${formatBytes(size)} (input weights ${formatBytes(plan.inputBytes)}, ` +
        `${(plan.inputBytes / size).toFixed(2)}× smaller)`,
    );
    return 0;
  },
};

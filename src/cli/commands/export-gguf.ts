/** `sparsegpt export-gguf MODEL_DIR --type … --out FILE.gguf`: a model folder as one GGUF file for llama.cpp. */
import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { formatFileSize } from '../../core/format-bytes';
import { planGgufExport, verifyGgufExport, writeGgufExport } from '../../core/gguf/export';
import { FILE_TYPE_INFO, FILE_TYPES, type GgufFileType } from '../../core/gguf/recipe';
import { ModelFileError } from '../../core/io/errors';
import { fileByteSink, fileByteSource, openFolder } from '../../node/files';
import { type Command, UsageError } from '../command';
import { flag, parseCommandLine, requiredValue } from '../options';

function countTypes(types: string[]): string {
  const counts = new Map<string, number>();
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
  return [...counts].map(([type, n]) => `${type}×${n}`).join(', ');
}

export const exportGguf: Command = {
  name: 'export-gguf',
  summary: 'write a model folder as one GGUF file for llama.cpp (f32, f16, q8_0, q4_0, q4_k_m)',
  synopsis: 'export-gguf MODEL_DIR --type TYPE --out FILE.gguf [--force]',
  description:
    'Writes the model folder (config.json, safetensors weights, tokenizer) as one GGUF file that llama.cpp (and\n' +
    "Ollama, LM Studio, wllama …) runs, quantized round-to-nearest with llama.cpp's own rules.",
  options: [
    {
      name: 'type',
      value: 'TYPE',
      choices: FILE_TYPES,
      help:
        "f32 | f16 | q8_0 | q4_0 | q4_k_m (llama.cpp's mixed recipe: Q4_K with Q6_K for the sensitive tensors);\n" +
        "a weight whose rows do not fill the type's blocks falls back as llama.cpp does; required",
    },
    {
      name: 'out',
      value: 'FILE.gguf',
      help: 'the .gguf to write (written under a temporary name, checked, then renamed); required',
    },
    { name: 'force', help: 'replace FILE.gguf if it exists' },
  ],
  positionals: { name: 'MODEL_DIR', min: 1, max: 1 },
  async run(argv) {
    const args = parseCommandLine(this, argv);
    const type = requiredValue(args, 'type', 'TYPE');
    const out = requiredValue(args, 'out', 'FILE.gguf');
    if (!out.toLowerCase().endsWith('.gguf'))
      throw new UsageError(`--out must name a .gguf file (got "${out}")`);
    const target = resolve(out);
    const existing = await stat(target).catch(() => undefined);
    if (existing?.isDirectory()) throw new UsageError(`${out} is a folder; --out must name a .gguf file`);
    if (existing && !flag(args, 'force')) {
      throw new UsageError(`${out} already exists: choose another --out or add --force`);
    }
    const plan = await planGgufExport(await openFolder(args.positionals[0]), type as GgufFileType);
    for (const warning of plan.warnings) console.error(`warning: ${warning}`);
    console.error(
      `${basename(args.positionals[0])}: ${plan.tensors.length} tensors → ${FILE_TYPE_INFO[plan.fileType].label} ` +
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
      `wrote ${out}: ${formatFileSize(size)} (input weights ${formatFileSize(plan.inputBytes)}, ` +
        `${(plan.inputBytes / size).toFixed(2)}× smaller)`,
    );
    return 0;
  },
};

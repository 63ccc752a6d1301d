/** `sparsegpt export-gguf MODEL_DIR --type … --out FILE.gguf`: a model folder as one GGUF file for llama.cpp. */
import { basename } from 'node:path';
import { formatFileSize } from '../../core/format-bytes';
import { planGgufExport } from '../../core/gguf/export';
import { FILE_TYPE_INFO, FILE_TYPES, type GgufFileType } from '../../core/gguf/recipe';
import { openFolder } from '../../node/files';
import type { Command } from '../command';
import { checkGgufTarget, countTypes, writeGgufFile } from '../gguf-file';
import { flag, parseCommandLine, requiredValue } from '../options';

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
    const target = await checkGgufTarget(out, flag(args, 'force'));
    const plan = await planGgufExport(await openFolder(args.positionals[0]), type as GgufFileType);
    for (const warning of plan.warnings) console.error(`warning: ${warning}`);
    console.error(
      `${basename(args.positionals[0])}: ${plan.tensors.length} tensors → ${FILE_TYPE_INFO[plan.fileType].label} ` +
        `(${countTypes(plan.tensors.map((t) => t.type))})`,
    );
    await writeGgufFile(plan, target, out);
    const size = plan.layout.fileBytes;
    console.log(
      `wrote ${out}: ${formatFileSize(size)} (input weights ${formatFileSize(plan.inputBytes)}, ` +
        `${(plan.inputBytes / size).toFixed(2)}× smaller)`,
    );
    return 0;
  },
};

/**
 * Converts a llama2.c tokenizer (tokenizer.bin, tok512.bin …) into a Hugging Face tokenizer.json and
 * tokenizer_config.json (sentencepiece-style BPE with byte fallback, as transformers writes for Llama 2).
 *
 *   node bin/run-ts.mjs scripts/convert-llama2c-tokenizer.ts TOKENIZER.bin OUT_DIR [--model-max-length 512]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  llama2cTokenizerConfig,
  llama2cTokenizerJson,
  parseLlama2cTokenizer,
} from '../src/core/tokenizer/llama2c';

export async function convertLlama2cTokenizer(
  input: string,
  outDir: string,
  modelMaxLength: number,
): Promise<number> {
  const vocab = parseLlama2cTokenizer(new Uint8Array(await readFile(input)), basename(input));
  await mkdir(outDir, { recursive: true });
  await writeFile(
    join(outDir, 'tokenizer.json'),
    `${JSON.stringify(llama2cTokenizerJson(vocab), null, 2)}\n`,
  );
  await writeFile(
    join(outDir, 'tokenizer_config.json'),
    `${JSON.stringify(llama2cTokenizerConfig(modelMaxLength), null, 2)}\n`,
  );
  return vocab.pieces.length;
}

const isMain = process.argv[1]?.endsWith('convert-llama2c-tokenizer.ts');
if (isMain) {
  const args = process.argv.slice(2);
  const lengthAt = args.indexOf('--model-max-length');
  const modelMaxLength = lengthAt >= 0 ? Number(args.splice(lengthAt, 2)[1]) : 2048;
  const [input, outDir] = args;
  if (!input || !outDir || !Number.isInteger(modelMaxLength) || modelMaxLength < 1) {
    console.error('usage: convert-llama2c-tokenizer.ts TOKENIZER.bin OUT_DIR [--model-max-length N]');
    process.exit(2);
  }
  const count = await convertLlama2cTokenizer(input, outDir, modelMaxLength);
  console.log(`wrote ${join(outDir, 'tokenizer.json')} and tokenizer_config.json (${count} tokens)`);
}

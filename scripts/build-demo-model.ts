/**
 * Rebuilds the bundled demo model folder public/demo/stories260K from ../shared (see its PROVENANCE.md):
 * the Hugging Face config and weights as they are, tokenizer.json converted from llama2.c's tok512.bin, and two
 * sample texts from disjoint parts of the model's own samples.
 *
 *   node bin/run-ts.mjs scripts/build-demo-model.ts [SHARED_DIR]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { convertLlama2cTokenizer } from './convert-llama2c-tokenizer';

/** Each sample text is about this long: enough for a quick demo run on a CPU adapter. */
const TEXT_BYTES = 32 * 1024;

/** Whole lines from the start (calibration) and from the end (evaluation); they must not meet before 80 %. */
export function cutSampleTexts(samples: string): { calibration: string; evaluation: string } {
  const lines = samples.split('\n').filter((line) => line.trim() !== '');
  const bytes = (line: string) => Buffer.byteLength(line, 'utf8') + 1;
  const head: string[] = [];
  for (let i = 0, size = 0; size < TEXT_BYTES; i++) {
    head.push(lines[i]);
    size += bytes(lines[i]);
  }
  const tail: string[] = [];
  for (let i = lines.length - 1, size = 0; size < TEXT_BYTES; i--) {
    tail.unshift(lines[i]);
    size += bytes(lines[i]);
  }
  const calibration = `${head.join('\n')}\n`;
  const evaluation = `${tail.join('\n')}\n`;
  const total = Buffer.byteLength(samples, 'utf8');
  const evaluationStart = Buffer.byteLength(samples.slice(0, samples.lastIndexOf(tail[0])), 'utf8');
  if (Buffer.byteLength(calibration, 'utf8') > 0.8 * total || evaluationStart < 0.8 * total) {
    throw new Error('sample texts would not come from disjoint parts of samples.txt');
  }
  return { calibration, evaluation };
}

/** Where the demo's files came from, with the byte ranges of the sample texts inside samples.txt. */
export function provenanceText(samples: string, calibration: string, evaluation: string): string {
  const total = Buffer.byteLength(samples, 'utf8');
  const calibrationBytes = Buffer.byteLength(calibration, 'utf8');
  const evaluationBytes = Buffer.byteLength(evaluation, 'utf8');
  const evaluationStart = Buffer.byteLength(samples.slice(0, samples.lastIndexOf(evaluation)), 'utf8');
  const range = (start: number, end: number) =>
    `bytes ${start}–${end} of ${total} (${((100 * start) / total).toFixed(0)}–${((100 * end) / total).toFixed(0)} %)`;
  return `# stories260K demo model

A real, pretrained 260K-parameter Llama-architecture model trained on TinyStories by Andrej Karpathy, from the
llama2.c project ("tinyllamas", Hugging Face repo karpathy/tinyllamas, folder stories260K). License: MIT,
Copyright (c) 2023 Andrej Karpathy.

Files, made by scripts/build-demo-model.ts from the project's shared test data (see its PROVENANCE.md):
- config.json, model.safetensors: the llama2.c checkpoint stories260K.bin in Hugging Face LlamaForCausalLM layout
  (F32, tied embeddings, q/k rows permuted to transformers' rotate_half RoPE layout), as they are.
- tokenizer.json, tokenizer_config.json: converted from llama2.c's tok512.bin by scripts/convert-llama2c-tokenizer.ts
  (sentencepiece-style BPE with byte fallback, as transformers writes for Llama 2). Its ids equal llama2.c's own
  encoder's on the golden test vectors.
- generation_config.json: BOS 1, EOS 2.
- calibration.txt and evaluation.txt: stories the model sampled itself (shared samples.txt, 241 stories generated
  from the dense model at temperature 1; model-generated, not human-written), cut at line ends from disjoint parts:
  calibration.txt = ${range(0, calibrationBytes)} from the start, evaluation.txt = ${range(evaluationStart, evaluationStart + evaluationBytes)} at the end.
`;
}

const isMain = process.argv[1]?.endsWith('build-demo-model.ts');
if (isMain) {
  const shared = resolve(process.argv[2] ?? '../shared');
  const model = join(shared, 'models/stories260K');
  const out = resolve('public/demo/stories260K');
  await mkdir(out, { recursive: true });
  // Copied by content: the shared originals are read-only, the demo's copies need not be.
  for (const file of ['config.json', 'model.safetensors'])
    await writeFile(join(out, file), await readFile(join(model, file)));
  const config = JSON.parse(await readFile(join(model, 'config.json'), 'utf8'));
  await convertLlama2cTokenizer(join(model, 'tok512.bin'), out, config.max_position_embeddings);
  const generation = {
    bos_token_id: config.bos_token_id,
    eos_token_id: config.eos_token_id,
    max_length: 256,
  };
  await writeFile(join(out, 'generation_config.json'), `${JSON.stringify(generation, null, 2)}\n`);
  const samples = await readFile(join(shared, 'data/stories260K-samples/samples.txt'), 'utf8');
  const { calibration, evaluation } = cutSampleTexts(samples);
  await writeFile(join(out, 'calibration.txt'), calibration);
  await writeFile(join(out, 'evaluation.txt'), evaluation);
  await writeFile(join(out, 'PROVENANCE.md'), provenanceText(samples, calibration, evaluation));
  console.log(`wrote ${out}`);
}

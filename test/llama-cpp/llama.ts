/**
 * llama.cpp itself (node-llama-cpp's CPU build) for tests: load a GGUF, tokenize, per-token NLL from its
 * probabilities with an F32 KV cache, greedy continuation; and llama.cpp's own quantizer through llama_quantize.py.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getLlama, type Llama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';
import { LLAMA_CPP_LIB_DIR } from './ggml';

let llama: Promise<Llama> | undefined;

export function llamaCpp(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return llama;
}

export async function withLlamaModel<T>(path: string, use: (model: LlamaModel) => Promise<T>): Promise<T> {
  const model = await (await llamaCpp()).loadModel({ modelPath: path });
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}

async function context(model: LlamaModel, size: number) {
  return model.createContext({
    contextSize: size,
    batchSize: size,
    sequences: 1,
    flashAttention: false,
    experimentalKvCacheKeyType: 'F32',
    experimentalKvCacheValueType: 'F32',
  });
}

/** NLL of each next token of each window (window after window, seqlen − 1 values each). */
export async function llamaNll(model: LlamaModel, windows: number[][]): Promise<Float64Array> {
  const seqlen = windows[0].length;
  const ctx = await context(model, seqlen);
  try {
    const sequence = ctx.getSequence();
    const nll = new Float64Array(windows.length * (seqlen - 1));
    for (const [w, ids] of windows.entries()) {
      await sequence.clearHistory();
      const tokens = ids as Token[];
      const out = await sequence.controlledEvaluate(
        tokens.map((id, i) => (i < tokens.length - 1 ? [id, { generateNext: { probabilities: true } }] : id)),
      );
      for (let i = 0; i < ids.length - 1; i++) {
        const p = out[i]?.next.probabilities?.get(tokens[i + 1]);
        if (p === undefined) throw new Error(`llama.cpp gave no probability at ${i}`);
        nll[w * (seqlen - 1) + i] = -Math.log(p);
      }
    }
    return nll;
  } finally {
    await ctx.dispose();
  }
}

/** Greedy continuation of `prompt` by `count` tokens. */
export async function llamaGreedy(model: LlamaModel, prompt: number[], count: number): Promise<number[]> {
  const ctx = await context(model, prompt.length + count + 1);
  try {
    const sequence = ctx.getSequence();
    const out: number[] = [];
    let input: Parameters<typeof sequence.controlledEvaluate>[0] = (prompt as Token[]).map((id, i) =>
      i < prompt.length - 1 ? id : [id, { generateNext: { token: true } }],
    );
    for (let n = 0; n < count; n++) {
      const result = await sequence.controlledEvaluate(input);
      const next = result[input.length - 1]?.next.token;
      if (next === undefined || next === null) throw new Error('llama.cpp gave no next token');
      out.push(next as number);
      input = [[next, { generateNext: { token: true } }]];
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}

/** llama.cpp's llama_model_quantize of `input` to llama_ftype `ftype` into `output`. */
export function llamaQuantize(input: string, output: string, ftype: number): void {
  const script = fileURLToPath(new URL('llama_quantize.py', import.meta.url));
  const run = spawnSync('python3', [script, LLAMA_CPP_LIB_DIR, input, output, String(ftype)], {
    encoding: 'utf8',
  });
  if (run.status !== 0)
    throw new Error(`llama_quantize.py failed (${run.status}): ${run.stderr.slice(-2000)}`);
}

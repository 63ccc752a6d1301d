/** `sparsegpt eval MODEL_DIR --text FILE`: perplexity with the paper's protocol, on the same GPU forward. */
import { evaluationWindows, nextTokenTargets, perplexityFromNll } from '../../core/eval/perplexity-windows';
import type { Architecture } from '../../core/forward/architecture';
import type { TensorSource } from '../../core/forward/block-weights';
import { modelNll } from '../../core/forward/model-forward';
import { openGgufModel } from '../../core/gguf/open-gguf';
import { openModel } from '../../core/pipeline/open-model';
import type { TextTokenizer } from '../../core/tokenizer/text-tokenizer';
import { fileByteSource, openFolder } from '../../node/files';
import { createNodeGpuContext } from '../../node/gpu';
import { numberOption, parseArgs, stringOption } from '../args';
import { readTextArgument } from '../text-input';
import { type Command, UsageError } from './index';

const USAGE = `usage: sparsegpt eval (MODEL_DIR | FILE.gguf) --text FILE [--seqlen L] [--max-windows N]

Concatenates the text, tokenizes it once, cuts it into non-overlapping windows of L tokens (default
min(512, model positions)) and prints the perplexity: exp of the mean NLL over every predicted token.
A .gguf written by export-gguf is scored on its dequantized weights with its own vocabulary.`;

interface Scored {
  arch: Architecture;
  tokenizer: TextTokenizer;
  maxPositions: number;
  source: TensorSource;
}

async function openScored(path: string): Promise<Scored> {
  if (path.toLowerCase().endsWith('.gguf')) {
    const gguf = await openGgufModel(await fileByteSource(path));
    return { ...gguf, maxPositions: gguf.config.maxPositions, source: gguf.read };
  }
  const { model, summary } = await openModel(await openFolder(path));
  const source = (name: string) => model.checkpoint.readFloat32(name);
  return { arch: model.arch, tokenizer: model.tokenizer, maxPositions: summary.maxPositions, source };
}

export const evaluate: Command = {
  name: 'eval',
  summary: 'perplexity of a model folder (or a GGUF it exported) on a text',
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, ['text', 'seqlen', 'max-windows']);
    if (args.positional.length !== 1) throw new UsageError(`give exactly one MODEL_DIR\n\n${USAGE}`);
    const textPath = stringOption(args, 'text');
    if (!textPath) throw new UsageError(`--text FILE is required\n\n${USAGE}`);
    const model = await openScored(args.positional[0]);
    const seqlen = numberOption(args, 'seqlen', Math.min(512, model.maxPositions), true);
    if (seqlen < 2 || seqlen > model.maxPositions) {
      throw new UsageError(`--seqlen must be from 2 to the model's ${model.maxPositions} positions`);
    }
    const maxWindows = args.options.has('max-windows')
      ? numberOption(args, 'max-windows', 1, true)
      : undefined;
    const text = await readTextArgument(textPath, 'evaluation');
    const windows = evaluationWindows(model.tokenizer.encode(text), seqlen, maxWindows);
    for (const note of windows.notes) console.error(`note: ${note}`);
    const ctx = await createNodeGpuContext();
    try {
      const started = performance.now();
      const nll = await modelNll(ctx, model.arch, model.source, windows.ids, { seqLen: windows.seqlen });
      const { meanNll, perplexity } = perplexityFromNll(nll, nextTokenTargets(windows.ids, windows.seqlen));
      const tokens = windows.windows * (windows.seqlen - 1);
      console.log(
        `perplexity ${perplexity.toFixed(4)} (mean NLL ${meanNll.toFixed(5)} over ${tokens} tokens in ` +
          `${windows.windows} windows of ${windows.seqlen}; ${((performance.now() - started) / 1000).toFixed(1)} s)`,
      );
      return 0;
    } finally {
      ctx.destroy();
    }
  },
};

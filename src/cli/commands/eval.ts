/** `sparsegpt eval MODEL_DIR --text FILE`: perplexity with the paper's protocol, on the same GPU forward. */
import { evaluationWindows, nextTokenTargets, perplexityFromNll } from '../../core/eval/perplexity-windows';
import { modelNll } from '../../core/forward/model-forward';
import { DEFAULT_SETTINGS } from '../../core/settings/prune-settings';
import { createNodeGpuContext } from '../../node/gpu';
import type { Command } from '../command';
import { openForwardPath } from '../forward-model-path';
import { numberValue, parseCommandLine, requiredValue } from '../options';
import { checkSettingOptions } from '../settings-options';
import { readTextArgument } from '../text-input';

export const evaluate: Command = {
  name: 'eval',
  summary: 'perplexity of a model folder (or a GGUF it exported) on a text',
  synopsis: 'eval (MODEL_DIR | FILE.gguf) --text FILE [--seqlen L] [--max-windows N]',
  description:
    'Concatenates the text, tokenizes it once, cuts it into non-overlapping windows of L tokens and prints the\n' +
    "perplexity: exp of the mean NLL over every predicted token (the paper's protocol). A .gguf written by\n" +
    'export-gguf is scored on its dequantized weights with its own vocabulary.',
  options: [
    { name: 'text', value: 'FILE', help: 'evaluation text (.txt, or .jsonl with a "text" field); required' },
    { name: 'seqlen', value: 'L', help: "tokens per window; default min(512, the model's positions)" },
    { name: 'max-windows', value: 'N', help: 'score at most the first N windows; default all' },
  ],
  positionals: { name: 'MODEL_DIR', min: 1, max: 1 },
  async run(argv) {
    const args = parseCommandLine(this, argv);
    const textPath = requiredValue(args, 'text', 'FILE');
    const model = await openForwardPath(args.positionals[0]);
    const seqlen = numberValue(args, 'seqlen') ?? Math.min(512, model.maxPositions);
    const maxWindows = numberValue(args, 'max-windows');
    // The prune settings' checks, limits and messages for the two options eval shares with prune.
    const settings = { ...DEFAULT_SETTINGS, seqlen, evalMaxWindows: maxWindows };
    checkSettingOptions(settings, { maxPositions: model.maxPositions }, ['seqlen', 'evalMaxWindows'], {
      evalMaxWindows: '--max-windows',
    });
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

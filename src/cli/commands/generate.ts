/**
 * `sparsegpt generate MODEL_DIR --prompt TEXT --max-tokens N [--temperature T --top-p P --seed S]`: continues the
 * prompt with the model on the GPU (the same WGSL forward with a KV cache as the app), printing each token's text to
 * stdout as it comes and the speed to stderr, so `… | tee` keeps the text alone.
 */
import { GenerationError, generate as generateText } from '../../core/generate/generate';
import {
  DEFAULT_SAMPLING_SETTINGS,
  SamplingError,
  type SamplingSettings,
  samplingOf,
} from '../../core/generate/sampling';
import { createNodeGpuContext } from '../../node/gpu';
import { type Command, UsageError } from '../command';
import { openForwardPath } from '../forward-model-path';
import { numberValue, type ParsedCommandLine, parseCommandLine, stringValue } from '../options';

const OPTION_OF: Record<keyof SamplingSettings, string> = {
  temperature: '--temperature',
  topP: '--top-p',
  seed: '--seed',
};

/** The prompt, max tokens and sampling from the command line, each problem said with its option's name. */
function requestOf(args: ParsedCommandLine) {
  const prompt = stringValue(args, 'prompt');
  const problems: string[] = [];
  if (prompt === undefined) problems.push('--prompt TEXT is required');
  else if (prompt.trim() === '') problems.push('--prompt is empty: give the text to continue');
  const maxTokens = numberValue(args, 'max-tokens') ?? 64;
  if (!(Number.isInteger(maxTokens) && maxTokens >= 1)) {
    problems.push(`--max-tokens must be a whole number of at least 1 (got ${maxTokens})`);
  }
  const settings: SamplingSettings = {
    temperature: numberValue(args, 'temperature') ?? DEFAULT_SAMPLING_SETTINGS.temperature,
    topP: numberValue(args, 'top-p') ?? DEFAULT_SAMPLING_SETTINGS.topP,
    seed: numberValue(args, 'seed') ?? DEFAULT_SAMPLING_SETTINGS.seed,
  };
  let sampling: ReturnType<typeof samplingOf> | undefined;
  try {
    sampling = samplingOf(settings);
  } catch (error) {
    if (!(error instanceof SamplingError)) throw error;
    problems.push(`${OPTION_OF[error.setting]}: ${error.message}`);
  }
  if (settings.temperature === 0 && (args.values['top-p'] !== undefined || args.values.seed !== undefined)) {
    problems.push(
      '--top-p and --seed apply to sampling: give a --temperature above 0 with them (0 is greedy)',
    );
  }
  if (problems.length > 0 || !sampling || prompt === undefined) {
    throw new UsageError(problems[0] ?? 'bad arguments', problems);
  }
  return { prompt, maxTokens, sampling };
}

export const generate: Command = {
  name: 'generate',
  summary: 'continue a prompt with a model (dense, pruned or a GGUF it exported) on the GPU',
  synopsis:
    'generate (MODEL_DIR | FILE.gguf) --prompt TEXT [--max-tokens N] [--temperature T --top-p P --seed S]',
  description:
    'Feeds the prompt through the model once (prefill), then one token per step with a KV cache, printing\n' +
    'each token as it comes to stdout; tokens per second go to stderr. Stops at the end-of-sequence token or\n' +
    'after N tokens. Temperature 0 (the default) picks the most likely token; above 0 it samples from the\n' +
    'top-p nucleus with a seeded random stream: the same seed gives the same text.',
  options: [
    { name: 'prompt', value: 'TEXT', help: 'the text to continue; required' },
    { name: 'max-tokens', value: 'N', help: 'tokens to generate at most; default 64' },
    { name: 'temperature', value: 'T', help: 'sampling temperature, 0 or above; default 0 (greedy)' },
    {
      name: 'top-p',
      value: 'P',
      help: 'sample from the most likely tokens holding P of the probability,\nin (0, 1]; default 1',
    },
    {
      name: 'seed',
      value: 'S',
      help: 'seed of the sampling, a whole number from 0 to 4294967295; default 0',
    },
  ],
  positionals: { name: 'MODEL_DIR', min: 1, max: 1 },
  async run(argv) {
    const args = parseCommandLine(this, argv);
    const request = requestOf(args);
    const model = await openForwardPath(args.positionals[0]);
    const ctx = await createNodeGpuContext();
    try {
      const [stats] = await generateText(ctx, [model], request, {
        onToken: (token) => process.stdout.write(token.text),
        onNote: (note) => console.error(`note: ${note}`),
      });
      process.stdout.write('\n');
      const speed =
        stats.tokensPerSecond === undefined ? '' : `, ${stats.tokensPerSecond.toFixed(1)} tokens/s`;
      console.error(
        `${stats.tokens} tokens${speed} (prompt: ${stats.promptTokens} tokens in ` +
          `${(stats.promptMs / 1000).toFixed(2)} s; stopped at ${stats.stop === 'eos' ? 'the end-of-sequence token' : 'max tokens'})`,
      );
      return 0;
    } catch (error) {
      // The prompt and max tokens against the model's context: the user's to change.
      if (error instanceof GenerationError) throw new UsageError(error.message);
      throw error;
    } finally {
      ctx.destroy();
    }
  },
};

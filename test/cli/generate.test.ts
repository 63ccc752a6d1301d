/**
 * `sparsegpt generate` as a user runs it (a child process): the greedy continuation of the demo, dense and pruned by
 * the CLI's own prune, prints the text of the float64 reference's 64 tokens, and a quantized GGUF export that of its
 * dequantized weights; the speed goes to stderr; a seed gives the same sampled text every time and another seed
 * another; every option's bad values get a message naming it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, runCli, smallPruneArgs } from '../cli';
import { referenceContinuation } from '../reference-text';

const PROMPT = 'Once upon a time, there was a little girl named Lily. She';

/** The text the float64 reference's greedy continuation of the prompt adds. */
function referenceText(modelDir: string, count: number): Promise<string> {
  return referenceContinuation(modelDir, PROMPT, count);
}

async function generateOk(args: string[]) {
  const result = await runCli(['generate', ...args]);
  expect(result.err).not.toMatch(/error/);
  expect(result.code).toBe(0);
  return result;
}

describe('sparsegpt generate', () => {
  let scratch: string;
  let pruned: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'generate-cli-'));
    pruned = join(scratch, 'pruned');
    const result = await runCli(smallPruneArgs(DEMO, pruned, ['--sparsity', '0.5']));
    expect(result.code).toBe(0);
  }, 300_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('greedy, 64 tokens: dense and pruned print the float64 reference continuation, tokens/s on stderr', async () => {
    const texts: string[] = [];
    for (const model of [DEMO, pruned]) {
      const result = await generateOk([model, '--prompt', PROMPT, '--max-tokens', '64']);
      expect(result.out).toBe(`${await referenceText(model, 64)}\n`);
      expect(result.err).toMatch(/^\d+ tokens, \d+(\.\d+)? tokens\/s \(prompt: \d+ tokens in /m);
      texts.push(result.out);
    }
    // Pruning changed what the model writes.
    expect(texts[1]).not.toBe(texts[0]);
  });

  it('a quantized export (GGUF): the float64 reference of its dequantized weights, token for token', async () => {
    const gguf = join(scratch, 'pruned-q4_0.gguf');
    const exported = await runCli(['export-gguf', pruned, '--type', 'q4_0', '--out', gguf]);
    expect(exported.code).toBe(0);
    const result = await generateOk([gguf, '--prompt', PROMPT, '--max-tokens', '32']);
    expect(result.out).toBe(`${await referenceText(gguf, 32)}\n`);
  });

  it('--max-tokens stops after that many tokens', async () => {
    const result = await generateOk([DEMO, '--prompt', PROMPT, '--max-tokens', '3']);
    expect(result.err).toMatch(/^3 tokens, .*stopped at max tokens/m);
    expect(result.out).toBe(`${await referenceText(DEMO, 3)}\n`);
  });

  it('--temperature, --top-p and --seed: the same seed gives the same text, another seed another', async () => {
    const sample = (seed: string, topP = '0.9') =>
      generateOk([
        DEMO,
        '--prompt',
        PROMPT,
        '--max-tokens',
        '24',
        '--temperature',
        '1.2',
        '--top-p',
        topP,
        '--seed',
        seed,
      ]);
    const first = await sample('11');
    const again = await sample('11');
    const other = await sample('12');
    expect(again.out).toBe(first.out);
    expect(other.out).not.toBe(first.out);
    expect(first.out).not.toBe(`${await referenceText(DEMO, 24)}\n`);
    // A tiny nucleus holds only the most likely token: sampling turns greedy, whatever the temperature.
    const nucleusOfOne = await sample('11', '0.000001');
    expect(nucleusOfOne.out).toBe(`${await referenceText(DEMO, 24)}\n`);
  });

  it('refuses bad input with a message naming the option, exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--prompt', ''], /--prompt is empty: give the text to continue/],
      [['--prompt', '   '], /--prompt is empty/],
      [[], /--prompt TEXT is required/],
      [
        ['--prompt', 'a', '--temperature=-0.5'],
        /--temperature: The temperature must be 0 \(greedy\) or above; got -0.5/,
      ],
      [['--prompt', 'a', '--temperature', 'warm'], /--temperature must be a number \(got "warm"\)/],
      [
        ['--prompt', 'a', '--temperature', '1', '--top-p', '0'],
        /--top-p: Top-p must be above 0 and at most 1/,
      ],
      [['--prompt', 'a', '--temperature', '1', '--top-p', '1.5'], /--top-p: .*got 1.5/],
      [['--prompt', 'a', '--temperature', '1', '--seed', '2.5'], /--seed: The seed must be a whole number/],
      [
        ['--prompt', 'a', '--top-p', '0.5'],
        /--top-p and --seed apply to sampling: give a --temperature above 0/,
      ],
      [['--prompt', 'a', '--max-tokens', '0'], /--max-tokens must be a whole number of at least 1 \(got 0\)/],
      [['--prompt', 'a', '--max-tokens', '600'], /more than the 512 .* lower max tokens to \d+/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['generate', DEMO, ...args]);
      expect(result.err, args.join(' ')).toMatch(message);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.out).toBe('');
    }
    const missing = await runCli(['generate', join(scratch, 'nothing-here'), '--prompt', 'a']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/error: .*nothing-here/);
  });

  it('--help lists every option', async () => {
    const result = await runCli(['generate', '--help']);
    expect(result.code).toBe(0);
    for (const option of ['--prompt TEXT', '--max-tokens N', '--temperature T', '--top-p P', '--seed S']) {
      expect(result.out).toContain(option);
    }
    const commands = await runCli(['--help']);
    expect(commands.out).toMatch(/generate +continue a prompt/);
  });
});

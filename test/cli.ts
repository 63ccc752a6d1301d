/**
 * The CLI as a user runs it: `node bin/sparsegpt.mjs …` in a child process, with the environment a user's shell
 * has (vitest's SwiftShader variables removed, so the CLI must find its adapter by itself). The CLI is one process,
 * so a SIGKILL of its PID stops all of its work.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..');
export const CLI = resolve(REPO, 'bin/sparsegpt.mjs');
export const DEMO = resolve(REPO, 'public/demo/stories260K');
/** The demo's calibration text: real prose the tiny models' 512-token tokenizer reads. */
export const DEMO_CALIBRATION = resolve(DEMO, 'calibration.txt');
export const DEMO_EVALUATION = resolve(DEMO, 'evaluation.txt');

/** The environment of a shell on this machine: no GPU variables that vitest.config.ts set for its workers. */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const chromium = (value = '') => value.includes('/usr/lib/chromium');
  if (chromium(env.VK_ICD_FILENAMES)) delete env.VK_ICD_FILENAMES;
  if (chromium(env.LD_LIBRARY_PATH)) delete env.LD_LIBRARY_PATH;
  for (const key of Object.keys(env)) if (key.startsWith('VITEST') || key === 'NODE_OPTIONS') delete env[key];
  return { ...env, ...extra };
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

export interface CliOptions {
  cwd?: string;
  /** Default: userEnv(). */
  env?: NodeJS.ProcessEnv;
  /** Called once with the child, e.g. to send it a signal when its output shows it is running. */
  onStart?(child: ChildProcess, output: { out(): string; err(): string }): void;
  /** The command instead of `node bin/sparsegpt.mjs` (an installed `sparsegpt`). */
  command?: string[];
  /** A command the CLI runs under, e.g. ['unshare', '-rm', 'sh', '-c', '…; "$@"', 'sh']: the CLI command and
   * its arguments are appended to it. */
  wrapper?: string[];
}

export interface CliProcess {
  child: ChildProcess;
  /** Output so far. */
  readonly out: string;
  readonly err: string;
  done: Promise<CliRun>;
  /** SIGKILL to the CLI's process; resolves when it is gone. */
  kill(): Promise<CliRun>;
}

export function startCli(args: string[], options: CliOptions = {}): CliProcess {
  const cli = options.command ?? [process.execPath, CLI];
  const [file, ...pre] = [...(options.wrapper ?? []), ...cli];
  const child = spawn(file, [...pre, ...args], {
    cwd: options.cwd ?? REPO,
    env: options.env ?? userEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  options.onStart?.(child, { out: () => out, err: () => err });
  const done = new Promise<CliRun>((resolveDone, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolveDone({ code, signal, out, err }));
  });
  return {
    child,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    done,
    async kill() {
      child.kill('SIGKILL');
      return done;
    },
  };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return startCli(args, options).done;
}

/** Resolves once `test` holds for the child's output so far (polled), or rejects after `ms`. */
export async function waitForOutput(
  output: { out(): string; err(): string },
  test: (out: string, err: string) => boolean,
  ms = 120_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test(output.out(), output.err())) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${output.out()}\n${output.err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** PIDs of the processes whose parent is `pid` (Linux /proc). */
export function childrenOf(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return children ? children.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/** `prune MODEL … --out OUT` with the small calibration (4 × 32 tokens) the CLI tests use, then `extra`. */
export function smallPruneArgs(
  model: string,
  out: string,
  extra: string[] = [],
  calibration = DEMO_CALIBRATION,
): string[] {
  return [
    'prune',
    model,
    '--calib',
    calibration,
    '--nsamples',
    '4',
    '--seqlen',
    '32',
    '--out',
    out,
    '--quiet',
    ...extra,
  ];
}

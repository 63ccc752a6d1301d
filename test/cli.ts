/**
 * The CLI as a user runs it: `node bin/sparsegpt.mjs …` in a child process, with the environment a user's shell
 * has (vitest's SwiftShader variables removed, so the CLI must find its adapter by itself).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..');
export const CLI = resolve(REPO, 'bin/sparsegpt.mjs');
export const DEMO = resolve(REPO, 'public/demo/stories260K');
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
  env?: NodeJS.ProcessEnv;
  /** Called once with the child, e.g. to send it a signal when its output shows it is running. */
  onStart?(child: ChildProcess, output: { out(): string; err(): string }): void;
  /** The command instead of bin/sparsegpt.mjs (an installed `sparsegpt`). */
  command?: string[];
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const [file, ...pre] = options.command ?? [process.execPath, CLI];
  const child = spawn(file, [...pre, ...args], {
    cwd: options.cwd ?? REPO,
    env: options.env ?? userEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    err += chunk;
  });
  options.onStart?.(child, { out: () => out, err: () => err });
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, out, err }));
  });
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

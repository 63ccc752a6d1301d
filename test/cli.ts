/**
 * The CLI as a user runs it: `node bin/sparsegpt.mjs …` in a child process, for tests that must drive the real
 * entry point (exit codes, signals, files left on disk).
 *
 * The child is started in its own process group and killed as a group: bin/sparsegpt.mjs → bin/run-ts.mjs → a
 * re-spawned node (for the SwiftShader fallback) are three processes today, and a SIGKILL of the first alone would
 * leave the others writing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '../bin/sparsegpt.mjs');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** Output so far. */
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<CliResult>;
  /** SIGKILL to the whole process group; resolves when the CLI is gone. */
  kill(): Promise<CliResult>;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A command the CLI runs under, e.g. ['unshare', '-rm', 'sh', '-c', '…; "$@"', 'sh']: `node bin/sparsegpt.mjs
   * ARGS…` is appended to it. */
  wrapper?: string[];
}

export function startCli(args: string[], options: CliOptions = {}): CliProcess {
  const command = [...(options.wrapper ?? []), process.execPath, BIN, ...args];
  const child = spawn(command[0], command.slice(1), {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<CliResult>((resolveDone, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolveDone({ code, signal, stdout, stderr }));
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
    async kill() {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
      return done;
    },
  };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** The demo's calibration text: real prose the tiny models' 512-token tokenizer reads. */
export const DEMO_CALIBRATION = resolve(import.meta.dirname, '../public/demo/stories260K/calibration.txt');

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

/**
 * Stopping the CLI from outside. SIGINT (Ctrl-C), SIGTERM and SIGHUP during a run abort it: the pipeline stops
 * within one layer, the command removes its partial output and keeps what `--resume` needs, and the process exits
 * with 128 + the signal's number after one line saying so. A second signal ends the process at once. Outside a
 * run the signals keep Node's default (the process ends). A closed stdout (`sparsegpt inspect DIR | head`) ends
 * the process quietly, or stops a run the same way as a signal.
 */
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGPIPE: 13, SIGTERM: 15 } as const;

export type StopReason = keyof typeof SIGNAL_NUMBERS;

export interface Interruptible {
  /** Aborts when the run is asked to stop. */
  readonly signal: AbortSignal;
  /** Why it was stopped, once it was. */
  readonly reason: StopReason | undefined;
  /** 128 + the signal's number (SIGINT 130, SIGTERM 143, SIGHUP 129, closed stdout 141). */
  readonly exitCode: number;
  /** Puts the default signal handling back. */
  dispose(): void;
}

let current: { stop(reason: StopReason): void } | undefined;

/** Catches the stop signals for the duration of a run; call dispose() when it is over. */
export function interruptible(): Interruptible {
  const controller = new AbortController();
  let reason: StopReason | undefined;
  const stop = (why: StopReason) => {
    if (reason) {
      if (why === 'SIGPIPE') return;
      process.stderr.write(`\n${why} again: stopping now, without cleaning up\n`);
      process.exit(128 + SIGNAL_NUMBERS[why]);
    }
    reason = why;
    const what = why === 'SIGPIPE' ? 'the output pipe was closed' : why;
    process.stderr.write(`\n${what}: stopping after the current layer…\n`);
    controller.abort();
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((name) => {
    const handler = () => stop(name);
    process.on(name, handler);
    return [name, handler] as const;
  });
  const run = { stop };
  current = run;
  return {
    signal: controller.signal,
    get reason() {
      return reason;
    },
    get exitCode() {
      return reason ? 128 + SIGNAL_NUMBERS[reason] : 1;
    },
    dispose() {
      for (const [name, handler] of handlers) process.off(name, handler);
      if (current === run) current = undefined;
    },
  };
}

/**
 * A reader that stops reading (`| head`) closes the pipe: writes then fail with EPIPE. Without a handler Node
 * prints a stack trace; here the process ends quietly, or a run in progress is stopped and cleans up.
 */
export function quietOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      if (current) current.stop('SIGPIPE');
      else process.exit(0);
    });
  }
}

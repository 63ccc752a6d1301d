/**
 * `npm start` builds and serves the app as one process tree that stops as a whole: stopping npm by its PID (as a
 * process manager or a terminal closing does) must free the port, not leave a server serving on. Runs the real
 * script through npm on a free port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** True when something listens on the port (binding it fails). */
function inUse(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(true));
    server.listen(port, () => server.close(() => done(false)));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

async function serves(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://localhost:${port}/`);
    return response.ok && (await response.text()).includes('<div id="root">');
  } catch {
    return false;
  }
}

const started: ChildProcess[] = [];

afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

async function startApp(): Promise<{ npm: ChildProcess; port: number }> {
  const port = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port) },
    stdio: 'ignore',
  });
  started.push(npm);
  expect(await waitFor(() => serves(port), 90_000), 'npm start serves the app').toBe(true);
  return { npm, port };
}

describe('npm start', () => {
  it('stops serving when npm is stopped by its PID', async () => {
    const { npm, port } = await startApp();
    process.kill(npm.pid as number, 'SIGTERM');
    expect(await waitFor(async () => !(await inUse(port)), 10_000), `port ${port} is free again`).toBe(true);
  }, 120_000);

  it('stops serving when npm is killed outright', async () => {
    const { npm, port } = await startApp();
    process.kill(npm.pid as number, 'SIGKILL');
    expect(await waitFor(async () => !(await inUse(port)), 10_000), `port ${port} is free again`).toBe(true);
  }, 120_000);
});

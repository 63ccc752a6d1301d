/**
 * `node bin/run-ts.mjs scripts/demo-check.ts [--port 4175] [--software] [--timeout-s 240]`
 *
 * The demo as a user runs it, in headless Chromium on this machine's WebGPU adapter (scripts/device-check.sh's
 * browser step): serves the built app (dist/, `npm run build`) with vite preview, opens it, prints the adapter
 * the page found, presses "Try the demo model" and Prune with the default settings, and prints the run's time
 * and perplexities as one JSON line. On a GPU Chromium uses Vulkan; --software runs on SwiftShader instead.
 * Every wait has a limit and ends with an `error:` line and exit code 1, never a hang.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4175' },
    software: { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '240' },
  },
});
const port = Number(values.port);
const limitMs = Number(values['timeout-s']) * 1000;
const repo = resolve(import.meta.dirname, '..');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

async function waitForServer(url: string, server: ChildProcess): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (server.exitCode !== null)
      fail(`vite preview ended with code ${server.exitCode} (is port ${port} free?)`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  fail(`vite preview did not answer on ${url} within 60 s`);
}

if (!existsSync(resolve(repo, 'dist/index.html'))) fail('no dist/index.html: run `npm run build` first');
if (!existsSync(executablePath))
  fail(`no Chromium at ${executablePath} (apt-get install chromium, or CHROMIUM_PATH)`);
const server = spawn('npx', ['vite', 'preview', '--port', String(port), '--strictPort'], {
  cwd: repo,
  stdio: 'ignore',
  detached: true,
});
const stopServer = () => {
  if (server.pid && server.exitCode === null) process.kill(-server.pid, 'SIGTERM');
};
const gpuFlags = values.software
  ? ['--use-angle=swiftshader']
  : ['--use-angle=vulkan', '--use-vulkan=native', '--ignore-gpu-blocklist', '--disable-vulkan-surface'];
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', ...gpuFlags, '--no-first-run'],
});
try {
  const url = `http://localhost:${port}`;
  await waitForServer(url, server);
  const page = await browser.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(url);
  const adapter = page.getByTestId('adapter-name');
  await adapter.waitFor().catch(() => fail('the page showed no WebGPU adapter within 60 s'));
  const adapterName = (await adapter.textContent())?.trim() ?? '';
  console.log(`browser adapter: ${adapterName}`);
  if (!values.software && /swiftshader|software/i.test(adapterName)) {
    fail(`Chromium fell back to a software adapter (${adapterName}): its Vulkan does not see the GPU`);
  }
  await page.getByRole('button', { name: 'Try the demo model' }).click();
  await page.getByTestId('model-name').waitFor();
  const started = Date.now();
  await page.getByRole('button', { name: 'Prune', exact: true }).click();
  const stage = page.getByTestId('run-stage');
  await stage
    .getByText('Done.', { exact: true })
    .waitFor({ timeout: limitMs })
    .catch(async () =>
      fail(`the demo run did not finish within ${limitMs / 1000} s (at "${await stage.textContent()}")`),
    );
  const seconds = (Date.now() - started) / 1000;
  const result = page.getByRole('region', { name: /Result/ });
  const stats = await result.locator('.stat').allTextContents();
  console.log(JSON.stringify({ adapter: adapterName, demoRunSeconds: Number(seconds.toFixed(1)), stats }));
} finally {
  await browser.close();
  stopServer();
}

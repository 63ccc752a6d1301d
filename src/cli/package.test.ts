/**
 * The CLI as users install it: `npm pack` (which builds dist-cli/), `npm install -g` of the tarball into a fresh
 * prefix, then the installed `sparsegpt` run from a clean directory with a shell's environment: it prints its
 * version and prunes the demo model, from plain JavaScript (no TypeScript runner, no sources in the package).
 * The dependencies come from npm's cache when they are there (--prefer-offline), else from the registry.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO, DEMO_CALIBRATION, REPO, runCli, userEnv } from '../../test/cli';
import { openCheckpoint } from '../core/io/checkpoint';
import { openFolder } from '../node/files';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-package-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));

/** A shell's environment: no npm_* variables of an `npm run` that started the tests. */
function shellEnv(): NodeJS.ProcessEnv {
  const env = userEnv();
  for (const key of Object.keys(env)) if (key.toLowerCase().startsWith('npm_')) delete env[key];
  return env;
}

function npm(args: string[], cwd: string): string {
  const result = spawnSync('npm', args, { cwd, env: shellEnv(), encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`npm ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

describe('the npm package', () => {
  it('installs from its tarball and runs sparsegpt --version and prune from a clean directory', async () => {
    npm(['pack', '--pack-destination', scratch], REPO);
    const tarball = join(scratch, `${pkg.name}-${pkg.version}.tgz`);
    const listing = spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(listing.sort()).toEqual([
      'package/README.md',
      'package/bin/sparsegpt.mjs',
      'package/dist-cli/sparsegpt.mjs',
      'package/package.json',
    ]);

    const prefix = join(scratch, 'prefix');
    npm(
      ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
      scratch,
    );
    const installed = join(prefix, 'lib/node_modules', pkg.name);
    expect(readdirSync(join(installed, 'node_modules')).sort()).toEqual(
      expect.arrayContaining(['@huggingface', 'webgpu']),
    );
    expect(existsSync(join(installed, 'node_modules/tsx'))).toBe(false);
    expect(existsSync(join(installed, 'src'))).toBe(false);

    const clean = join(scratch, 'clean');
    mkdirSync(clean);
    const sparsegpt = { cwd: clean, command: [join(prefix, 'bin/sparsegpt')] };
    const version = await runCli(['--version'], sparsegpt);
    expect(version.out).toBe(`sparsegpt-webgpu ${pkg.version}\n`);
    expect(version.code).toBe(0);

    const args = ['--pattern', '2:4', '--calib', DEMO_CALIBRATION, '--nsamples', '4', '--seqlen', '32'];
    const pruned = await runCli(['prune', DEMO, ...args, '--out', 'pruned', '--quiet'], sparsegpt);
    expect(pruned.err).not.toMatch(/error/);
    expect(pruned.code).toBe(0);
    expect(pruned.out).toMatch(/overall sparsity 50\.00% over 35 linears/);
    expect(readdirSync(join(clean, 'pruned'))).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']),
    );
    const metadata = (await openCheckpoint(await openFolder(join(clean, 'pruned')))).metadata;
    expect(metadata['sparsegpt.pattern']).toBe('2:4');
    expect(metadata['sparsegpt.tool_version']).toBe(pkg.version);
  }, 300_000);
});

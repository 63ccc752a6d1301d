/**
 * Every option of every command through the real CLI (a child process, the user's environment): `--help` lists
 * exactly the options each command takes, the parser refuses what it does not know, and each option has the effect
 * it promises on what the command prints or writes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO, DEMO_CALIBRATION, DEMO_EVALUATION, REPO, runCli, userEnv } from '../../test/cli';
import { gaussian } from '../../test/random';
import { openCheckpoint, openSafetensorsFile } from '../core/io/checkpoint';
import { encodeSafetensors } from '../core/io/safetensors-write';
import { fileByteSource, openFolder } from '../node/files';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-options-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const VERSION = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;
const SMALL = ['--nsamples', '4', '--seqlen', '32'];

/** The options a command's --help lists, in order. */
function listedOptions(help: string): string[] {
  return [...help.matchAll(/^ +(?:-\w, )?(--[\w-]+)/gm)].map((match) => match[1]);
}

const metadataOf = async (folder: string) => (await openCheckpoint(await openFolder(folder))).metadata;

describe('sparsegpt options', () => {
  it('--version prints the package version, and --help of every command lists every option it takes', async () => {
    const expected: Record<string, string[]> = {
      'gpu-info': ['--help'],
      inspect: ['--no-tensors', '--help'],
      prune: [
        ...[
          '--calib',
          '--out',
          '--method',
          '--sparsity',
          '--pattern',
          '--block-size',
          '--damp',
          '--quantize',
          '--format',
          '--nsamples',
        ],
        ...[
          '--seqlen',
          '--eval',
          '--eval-windows',
          '--seed',
          '--skip',
          '--expert-calibration',
          '--layer-sparsity',
          '--allocation',
          '--owl-m',
          '--owl-lambda',
          '--force',
          '--resume',
          '--json',
          '--quiet',
        ],
        '--help',
      ],
      eval: ['--text', '--seqlen', '--max-windows', '--help'],
      sweep: [
        ...[
          '--methods',
          '--sparsities',
          '--patterns',
          '--calib',
          '--block-size',
          '--damp',
          '--nsamples',
          '--seqlen',
        ],
        ...['--eval', '--eval-windows', '--seed', '--skip', '--layer-sparsity', '--allocation', '--owl-m'],
        ...['--owl-lambda', '--quiet', '--csv', '--json', '--save', '--force', '--help'],
      ],
      'export-gguf': ['--type', '--out', '--force', '--help'],
      generate: ['--prompt', '--max-tokens', '--temperature', '--top-p', '--seed', '--help'],
      'prune-layer': [
        ...['--weight', '--inputs', '--out', '--method', '--sparsity', '--pattern', '--block-size', '--damp'],
        '--help',
      ],
    };
    const [version, top, ...helps] = await Promise.all([
      runCli(['--version']),
      runCli(['--help']),
      ...Object.keys(expected).map((command) => runCli([command, '--help'])),
    ]);
    expect(version.out).toBe(`sparsegpt-webgpu ${VERSION}\n`);
    expect(version.code).toBe(0);
    expect(top.out).toMatch(/^usage: sparsegpt <command> \[options\]/);
    for (const command of Object.keys(expected)) expect(top.out).toMatch(new RegExp(`^  ${command} `, 'm'));
    Object.keys(expected).forEach((command, i) => {
      expect(helps[i].out).toMatch(new RegExp(`^usage: sparsegpt ${command}`));
      expect(listedOptions(helps[i].out), command).toEqual(expected[command]);
      expect(helps[i].code).toBe(0);
    });
  }, 120_000);

  it('refuses unknown options, missing values, values given to flags and stray arguments (exit code 2)', async () => {
    const calib = ['--calib', DEMO_CALIBRATION];
    const cases: Array<[string[], RegExp]> = [
      [
        ['prune', DEMO, ...calib, '--out', 'x', '--sparsty', '0.5'],
        /^error: unknown option --sparsty \(see sparsegpt prune --help\)$/m,
      ],
      [['prune', DEMO, '--out', 'x', '--calib'], /^error: option --calib needs a value/m],
      [
        ['prune', DEMO, ...calib, '--out', '--force'],
        /^error: option --out needs a value \(for a value that starts with a dash, write --out=-VALUE\)/m,
      ],
      [['prune', DEMO, ...calib, '--out', 'x', '--quiet=yes'], /^error: option --quiet takes no value/m],
      [
        ['prune', DEMO, ...calib, '--out', 'x', '--nsamples', 'many'],
        /^error: --nsamples must be a number \(got "many"\)$/m,
      ],
      [
        ['prune', DEMO, ...calib, '--out', 'x', '--method', 'obs'],
        /^error: --method must be one of sparsegpt, wanda, magnitude \(got "obs"\)$/m,
      ],
      [
        ['prune', DEMO, ...calib, '--out', 'x', '--pattern', 'half'],
        /^error: --pattern must look like 2:4 or 4:8 \(got "half"\)$/m,
      ],
      [
        ['prune', DEMO, ...calib, '--out', 'x', '--pattern', '2:4', '--sparsity', '0.5'],
        /conflict: an N:M pattern fixes the sparsity/,
      ],
      [['prune', DEMO, '--out', 'x'], /^error: --calib FILE is required$/m],
      [['prune', DEMO, ...calib], /^error: --out OUT_DIR is required$/m],
      [['inspect'], /^error: give exactly one MODEL_DIR \(got none\)/m],
      [['inspect', DEMO, DEMO], /^error: give exactly one MODEL_DIR \(got /m],
      [['gpu-info', 'now'], /^error: give no arguments \(got "now"\)/m],
      [['eval', DEMO], /^error: --text FILE is required$/m],
      [['prune-layer', '--weight', 'w.safetensors'], /^error: --inputs is required$/m],
      [['shrink', DEMO], /^unknown command "shrink"/m],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(args, { cwd: scratch })));
    cases.forEach(([args, message], i) => {
      expect(runs[i].err, args.join(' ')).toMatch(message);
      expect(runs[i].code, args.join(' ')).toBe(2);
    });
  }, 120_000);

  it('prune: --method --pattern --nsamples --seqlen --seed --skip --eval --eval-windows --json --quiet', async () => {
    const out = join(scratch, 'wanda');
    const json = join(scratch, 'wanda.json');
    const run = await runCli([
      ...['prune', DEMO, '--calib', DEMO_CALIBRATION, '--out', out, '--method', 'wanda', '--pattern', '2:4'],
      ...[...SMALL, '--seed', '3', '--skip', 'layers.0.', '--eval', DEMO_EVALUATION, '--eval-windows', '2'],
      ...['--json', json, '--quiet'],
    ]);
    expect(run.code).toBe(0);
    expect(run.err).not.toMatch(/Tokenizing|Pruning \d+ blocks/);
    expect(run.out).toMatch(/^dense perplexity: \d/m);
    expect(run.out).toMatch(/^pruned perplexity: \d/m);
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.settings).toMatchObject({
      method: 'wanda',
      pattern: { n: 2, m: 4 },
      nsamples: 4,
      seqlen: 32,
      seed: 3,
      skipLayers: ['layers.0.'],
      evalMaxWindows: 2,
    });
    expect(result.pruned.windows).toBe(2);
    expect(result.pruned.seqlen).toBe(32);
    const skipped = result.layers.filter((layer: { skipped?: string }) => layer.skipped);
    expect(skipped.map((layer: { block: number }) => layer.block)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    for (const layer of result.layers) if (!layer.skipped) expect(layer.sparsity).toBe(0.5);
    const metadata = await metadataOf(out);
    expect(metadata['sparsegpt.method']).toBe('wanda');
    expect(metadata['sparsegpt.calibration']).toBe('4x32 tokens, seed 3');

    // eval of the written folder: --text, --seqlen and --max-windows give the run's own pruned perplexity.
    const evaluated = await runCli([
      'eval',
      out,
      '--text',
      DEMO_EVALUATION,
      '--seqlen',
      '32',
      '--max-windows',
      '2',
    ]);
    expect(evaluated.code).toBe(0);
    expect(evaluated.out).toMatch(/in 2 windows of 32/);
    expect(Number(/perplexity (\S+)/.exec(evaluated.out)?.[1])).toBeCloseTo(result.pruned.perplexity, 3);

    // inspect --no-tensors leaves the tensor table out.
    const [full, short] = await Promise.all([
      runCli(['inspect', out]),
      runCli(['inspect', out, '--no-tensors']),
    ]);
    expect(full.out).toMatch(/^model\.layers\.0\.mlp\.up_proj\.weight +F32 +\[172, 64\]$/m);
    expect(short.out).toMatch(/^weights: /m);
    expect(short.out).not.toMatch(/^model\.layers\./m);
  }, 240_000);

  it('prune: --force replaces the output; --sparsity --block-size --damp reach the solver; --resume needs a run', async () => {
    const out = join(scratch, 'replaced');
    const base = ['prune', DEMO, '--calib', DEMO_CALIBRATION, '--out', out, ...SMALL];
    expect((await runCli([...base, '--method', 'magnitude', '--quiet'])).code).toBe(0);
    const occupied = await runCli([...base, '--sparsity', '0.6']);
    expect(occupied.err).toMatch(/already exists and is not empty: choose another --out or add --force/);
    expect(occupied.code).toBe(2);

    const json = join(scratch, 'replaced.json');
    const args = ['--sparsity', '0.6', '--block-size', '32', '--damp', '0.05', '--json', json, '--force'];
    const replaced = await runCli([...base, ...args]);
    expect(replaced.code).toBe(0);
    expect(replaced.err).toMatch(/^Tokenizing the calibration text$/m);
    const metadata = await metadataOf(out);
    expect(metadata).toMatchObject({
      'sparsegpt.method': 'sparsegpt',
      'sparsegpt.sparsity': '0.6',
      'sparsegpt.block_size': '32',
      'sparsegpt.percdamp': '0.05',
    });
    const result = JSON.parse(readFileSync(json, 'utf8'));
    for (const layer of result.layers) {
      expect(layer.damping).toBe(0.05);
      expect(Math.abs(layer.sparsity - 0.6)).toBeLessThan(0.01);
    }

    const resume = await runCli([...base.slice(0, 5), join(scratch, 'never-ran'), ...SMALL, '--resume']);
    expect(resume.err).toMatch(/--resume: there is no interrupted run to resume/);
    expect(resume.code).toBe(2);
  }, 240_000);

  it('prune-layer: --weight --inputs --out --method --sparsity --pattern --block-size --damp', async () => {
    const [rows, cols, tokens] = [16, 32, 64];
    const weight = join(scratch, 'weight.safetensors');
    const inputs = join(scratch, 'inputs.safetensors');
    writeFileSync(
      weight,
      encodeSafetensors([
        { name: 'weight', dtype: 'F32', shape: [rows, cols], data: gaussian(rows * cols, 1) },
      ]),
    );
    writeFileSync(
      inputs,
      encodeSafetensors([
        { name: 'inputs', dtype: 'F32', shape: [tokens, cols], data: gaussian(tokens * cols, 2) },
      ]),
    );
    const files = ['--weight', weight, '--inputs', inputs];
    const unstructured = join(scratch, 'layer-60.safetensors');
    const nm = join(scratch, 'layer-2-4.safetensors');
    const [a, b] = await Promise.all([
      runCli([
        'prune-layer',
        ...files,
        '--out',
        unstructured,
        '--method',
        'sparsegpt',
        '--sparsity',
        '0.6',
        '--block-size',
        '16',
        '--damp',
        '0.02',
      ]),
      runCli(['prune-layer', ...files, '--out', nm, '--method', 'magnitude', '--pattern', '2:4']),
    ]);
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/^method: +sparsegpt unstructured at sparsity 0\.6, block 16, dampening 0\.02/m);
    // Each block of 16 columns zeroes 60% of its 256 weights (the threshold weight included): 154 of them.
    expect(a.out).toMatch(/^sparsity: +60\.16% \(308 of 512 weights zero\)$/m);
    const written = await openSafetensorsFile(await fileByteSource(unstructured));
    expect(written.metadata).toMatchObject({ 'sparsegpt.block_size': '16', 'sparsegpt.percdamp': '0.02' });
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/^method: +magnitude 2:4, block 128/m);
    const W = await (await openSafetensorsFile(await fileByteSource(nm))).readFloat32('weight');
    for (let group = 0; group < W.length; group += 4) {
      expect(Array.from(W.subarray(group, group + 4)).filter((w) => w === 0)).toHaveLength(2);
    }
  }, 120_000);

  it('gpu-info finds an adapter by itself, and SPARSEGPT_NATIVE_GPU=1 never falls back to SwiftShader', async () => {
    const [found, native] = await Promise.all([
      runCli(['gpu-info']),
      runCli(['gpu-info'], { env: userEnv({ SPARSEGPT_NATIVE_GPU: '1' }) }),
    ]);
    expect(found.code).toBe(0);
    expect(found.out).toMatch(/^adapter: +\S/);
    expect(found.out).toMatch(/^maxStorageBufferBindingSize +\d+$/m);
    if (native.code === 0) expect(native.out).not.toMatch(/swiftshader/i);
    else {
      expect(native.err).toMatch(/^error: Dawn found no GPU adapter: .*, and unset SPARSEGPT_NATIVE_GPU$/m);
      expect(native.code).toBe(1);
    }
  }, 60_000);

  it('gpu-info names the kernel forms for the adapter, and SPARSEGPT_KERNELS=cpu|gpu forces them', async () => {
    const [chosen, gpuForms, cpuForms, wrong] = await Promise.all([
      runCli(['gpu-info']),
      runCli(['gpu-info'], { env: userEnv({ SPARSEGPT_KERNELS: 'gpu' }) }),
      runCli(['gpu-info'], { env: userEnv({ SPARSEGPT_KERNELS: 'cpu' }) }),
      runCli(['gpu-info'], { env: userEnv({ SPARSEGPT_KERNELS: 'fast' }) }),
    ]);
    const software = /swiftshader/i.test(chosen.out);
    expect(chosen.out).toMatch(software ? /^kernels: +cpu \(register-tiled/m : /^kernels: +gpu \(tiled/m);
    expect(gpuForms.out).toMatch(/^kernels: +gpu \(tiled in workgroup memory/m);
    expect(cpuForms.out).toMatch(/^kernels: +cpu \(register-tiled/m);
    expect(wrong.err).toMatch(/^error: SPARSEGPT_KERNELS must be cpu or gpu \(got "fast"\)$/m);
    expect(wrong.code).toBe(1);
  }, 60_000);
});

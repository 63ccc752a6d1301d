/**
 * How a run's sparsity is shaped per layer on the command line: `--layer-sparsity` (inline entries or a JSON file),
 * `--allocation owl` and OWL's two hyperparameters. Read into the core's PruneSettings fields (layerTargets,
 * allocation, owlThreshold, owlLambda), which the core's validator checks like every other setting.
 */
import { readFile } from 'node:fs/promises';
import {
  ALLOCATIONS,
  type LayerTarget,
  OWL_DEFAULTS,
  type PruneSettings,
} from '../core/settings/prune-settings';
import { UsageError } from './command';
import { numberValue, type OptionSpec, type ParsedCommandLine, stringValue } from './options';

export const LAYER_OPTIONS: OptionSpec[] = [
  {
    name: 'layer-sparsity',
    value: 'SPEC',
    help:
      "per-layer sparsities over the run's (unstructured only): NAME=F entries, comma-separated, e.g.\n" +
      '"layers.0.=0.3,mlp.down_proj=0.4" (NAME as in --skip), or a JSON file {"NAME": F, …};\n' +
      'where several entries match a linear, the last wins',
  },
  {
    name: 'allocation',
    value: 'KIND',
    choices: ALLOCATIONS,
    help:
      'how the sparsity is spread over blocks: uniform, or owl (Outlier Weighed Layerwise sparsity: a dense\n' +
      "calibration pass measures each block's outlier ratio; blocks with more outliers keep more weights,\n" +
      'every block within ±λ of the target, averaging to it); default uniform',
  },
  {
    name: 'owl-m',
    value: 'M',
    help: `OWL: a score |W|·‖X‖ is an outlier above M × its block's mean; default ${OWL_DEFAULTS.threshold}`,
  },
  {
    name: 'owl-lambda',
    value: 'L',
    help: `OWL: each block's sparsity stays within ±L of the target; default ${OWL_DEFAULTS.lambda}`,
  },
];

/** The per-layer fields the options ask for (absent ones stay absent). */
export async function readLayerSettings(
  args: ParsedCommandLine,
): Promise<Pick<PruneSettings, 'layerTargets' | 'allocation' | 'owlThreshold' | 'owlLambda'>> {
  const spec = stringValue(args, 'layer-sparsity');
  const allocation = stringValue(args, 'allocation') as PruneSettings['allocation'];
  const owlThreshold = numberValue(args, 'owl-m');
  const owlLambda = numberValue(args, 'owl-lambda');
  if ((owlThreshold !== undefined || owlLambda !== undefined) && allocation !== 'owl') {
    throw new UsageError('--owl-m and --owl-lambda set the OWL allocation: add --allocation owl');
  }
  return {
    ...(spec !== undefined && { layerTargets: await parseLayerSparsity(spec) }),
    ...(allocation !== undefined && { allocation }),
    ...(owlThreshold !== undefined && { owlThreshold }),
    ...(owlLambda !== undefined && { owlLambda }),
  };
}

/** Inline "NAME=F,…" when the value holds an "=", else the path of a JSON file. */
export async function parseLayerSparsity(spec: string): Promise<LayerTarget[]> {
  return spec.includes('=') ? parseInline(spec) : parseFile(spec);
}

function parseInline(spec: string): LayerTarget[] {
  return spec
    .split(',')
    .filter((entry) => entry.trim())
    .map((entry) => {
      const at = entry.lastIndexOf('=');
      const layers = entry.slice(0, at).trim();
      const raw = entry.slice(at + 1).trim();
      const sparsity = raw === '' ? Number.NaN : Number(raw);
      if (at < 0 || !layers || !Number.isFinite(sparsity)) {
        throw new UsageError(
          `--layer-sparsity: "${entry.trim()}" is not NAME=F (e.g. mlp.down_proj=0.4, a fraction of zeros)`,
        );
      }
      return { layers, sparsity };
    });
}

async function parseFile(path: string): Promise<LayerTarget[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--layer-sparsity ${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'}); ` +
        'give a JSON file or NAME=F entries',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--layer-sparsity ${path}: not JSON (${(error as Error).message})`);
  }
  const entries = Array.isArray(json)
    ? json.map((item) => [item?.layers, item?.sparsity] as const)
    : json && typeof json === 'object'
      ? Object.entries(json)
      : undefined;
  if (!entries) {
    throw new UsageError(`--layer-sparsity ${path}: expected an object {"NAME": F, …}`);
  }
  return entries.map(([layers, sparsity]) => {
    if (typeof layers !== 'string' || typeof sparsity !== 'number') {
      throw new UsageError(
        `--layer-sparsity ${path}: each entry maps a name to a number (e.g. "mlp.down_proj": 0.4); got ` +
          `${JSON.stringify(layers)}: ${JSON.stringify(sparsity)}`,
      );
    }
    return { layers, sparsity };
  });
}

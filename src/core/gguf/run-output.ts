/**
 * A pruning run written as one GGUF file, the same way in the CLI (prune --format gguf) and the app's worker: the
 * plan is made before any work (so a family llama.cpp cannot run, quantized input or a type no weight fits is said
 * first), the solver's linears go to a tensor spill as each block finishes with the scale words it chose, and the
 * plan then reads them from there (stored under those scales, never rounded again) and the rest from the input.
 */
import type { ModelFolder } from '../io/folder';
import type { TensorSpill } from '../io/tensor-spill';
import { type PruneSettings, patternLabel, quantizationLabel } from '../settings/prune-settings';
import { type GgufExportPlan, planGgufExport, type SolvedTensor, withSolvedWeights } from './export';
import type { GgufFileType } from './recipe';

/** The GGUF file type of the settings' quantization (F32 without one). */
export function ggufFileType(settings: Pick<PruneSettings, 'quantization'>): GgufFileType {
  return settings.quantization === 'none' ? 'f32' : settings.quantization;
}

/** The run's settings as `general.sparsegpt.*` provenance. */
export function runProvenance(settings: PruneSettings): Record<string, string> {
  return {
    method: settings.method,
    sparsity: String(
      settings.pattern === 'unstructured' ? settings.sparsity : settings.pattern.n / settings.pattern.m,
    ),
    pattern:
      settings.pattern === 'unstructured'
        ? 'unstructured'
        : patternLabel(settings.pattern, settings.sparsity),
    quantization: quantizationLabel(settings),
    calibration: `${settings.nsamples}x${settings.seqlen} tokens, seed ${settings.seed}`,
    block_size: String(settings.blockSize),
    percdamp: String(settings.percdamp),
  };
}

/** The GGUF plan of a run on `folder` with `settings`; throws the refusals before any work is done. */
export function planRunGguf(folder: ModelFolder, settings: PruneSettings): Promise<GgufExportPlan> {
  return planGgufExport(folder, ggufFileType(settings), runProvenance(settings));
}

/** The solved linears of a run, kept in a spill as they come, and the plan that stores them. */
export class SolvedLinears {
  private readonly scales = new Map<string, SolvedTensor>();

  constructor(
    private readonly spill: TensorSpill,
    /** The rows of a linear as the checkpoint stores it (its first dimension). */
    private readonly rowsOf: (tensor: string) => number,
  ) {}

  /** For pruneModel's onSolved. */
  readonly keep = async (tensor: string, values: Float32Array, quantization?: SolvedTensor) => {
    await this.spill.put(tensor, values, this.rowsOf(tensor));
    if (quantization) this.scales.set(tensor, quantization);
  };

  /** `plan` reading the solved linears from the spill and the other tensors from the input. */
  planWith(plan: GgufExportPlan): GgufExportPlan {
    const read: GgufExportPlan['read'] = (name, rows) =>
      this.spill.has(name) ? this.spill.read(name, rows) : plan.read(name, rows);
    return withSolvedWeights(plan, read, this.scales);
  }
}

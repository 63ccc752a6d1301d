/**
 * The settings of a whole-model run checked against the model, before any work starts: the core's one validator
 * (with the model's positions as the bound of the sequence length) plus what only a model can tell, skip entries
 * that match no linear. Every problem is reported at once, as a SettingsError.
 */
import type { Architecture } from '../forward/architecture';
import { requireGpuForward } from '../forward/gpu-support';
import type { PruneSettings } from '../settings/prune-settings';
import { type SettingProblem, SettingsError, settingsProblems } from '../settings/validate';

export function checkPruneSettings(settings: PruneSettings, arch: Architecture): void {
  const problems: SettingProblem[] = settingsProblems(settings, { maxPositions: arch.config.maxPositions });
  const linears = arch.prunableLinears();
  const example = `e.g. "mlp.down_proj", "layers.0.", or a full name like "${linears[0]?.tensor ?? ''}"`;
  const unmatched = (entries: unknown, field: 'skipLayers' | 'layerTargets', where: string) => {
    if (!Array.isArray(entries)) return;
    for (const item of entries) {
      const entry = field === 'skipLayers' ? item : item?.layers;
      if (typeof entry !== 'string' || !entry.trim()) continue;
      if (!linears.some((l) => skipMatches(entry, l.tensor, l.block, l.name))) {
        problems.push({
          field,
          message: `"${entry}" in the ${where} matches no prunable linear (${example}).`,
        });
      }
    }
  };
  unmatched(settings.skipLayers, 'skipLayers', 'layers to skip');
  unmatched(settings.layerTargets, 'layerTargets', 'per-layer targets');
  if (problems.length) throw new SettingsError(problems);
  // Before any work: a model the GPU forward would compute without one of its features is refused by name.
  requireGpuForward(arch);
}

/** A skip entry matches a tensor name exactly, a block-relative name by suffix, or a block by "layers.N." prefix. */
export function skipMatches(entry: string, tensor: string, block: number, name: string): boolean {
  const e = entry.trim();
  if (!e) return false;
  if (e === tensor || e === name || tensor.endsWith(`.${e}`) || tensor.endsWith(`.${e}.weight`)) return true;
  const blockMatch = /^(?:.*\.)?(?:layers|h|blocks)\.(\d+)\.?$/.exec(e);
  if (blockMatch) return Number(blockMatch[1]) === block;
  return tensor.includes(e.endsWith('.') ? e : `${e}.`);
}

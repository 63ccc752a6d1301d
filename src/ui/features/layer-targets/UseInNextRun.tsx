/** The explorer's "use this sparsity for this layer in the next run": adds (or changes) a per-layer target. */
import { useSettingsStore } from '../../../store/settings';
import { formatPercent } from '../../shared/format';
import { NO_TARGETS, withLayerTarget } from './targets';

export function UseInNextRun({
  tensor,
  label,
  sparsity,
}: {
  tensor: string;
  label: string;
  sparsity: number;
}) {
  const targets = useSettingsStore((s) => s.settings.layerTargets) ?? NO_TARGETS;
  const update = useSettingsStore((s) => s.update);
  const set = targets.findLast((t) => t.layers === tensor);
  const percent = formatPercent(sparsity, 0);
  return (
    <div className="use-in-next-run">
      <button
        type="button"
        disabled={set?.sparsity === sparsity}
        onClick={() => update({ layerTargets: withLayerTarget(targets, tensor, sparsity) })}
      >
        Use {percent} for this layer in the next run
      </button>
      {set && (
        <p className="muted small" role="status">
          The next run prunes {label} to {formatPercent(set.sparsity, 0)} (see Sparsity per layer).
        </p>
      )}
    </div>
  );
}

/**
 * The layer explorer: re-prunes one layer of the last run from its kept Hessian factor as the controls change,
 * and measures its error curve. Probes are "latest wins" in the client, so dragging never builds a backlog.
 */
import type { PrunableLinear } from '../../../core/pipeline/types';
import { type ExplorerControls, useExplorerStore } from '../../../store/explorer';
import { useRunStore } from '../../../store/run';
import { isSuperseded } from '../../../worker/client';
import { pruner } from '../../pruner';
import { errorMessage } from '../../shared/format';

export const CURVE_SPARSITIES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

function probe(request: number): void {
  const { selected, controls } = useExplorerStore.getState();
  if (!selected) return;
  pruner.probeLayer({ tensor: selected, ...controls }).then(
    (reply) => useExplorerStore.getState().answered(request, selected, controls, reply),
    (error: unknown) => {
      if (!isSuperseded(error)) useExplorerStore.getState().failed(request, errorMessage(error));
    },
  );
}

/**
 * The curve is measured one sparsity at a time (three re-prunings each), drawn as it grows. Between points the
 * worker's queue is free for the slider's probes, so dragging stays live while the curve fills in.
 */
function loadCurve(tensor: string): void {
  const explorer = useExplorerStore.getState;
  const measurement = explorer().startCurve();
  const points: Awaited<ReturnType<typeof pruner.errorCurve>> = [];
  const current = () => measurement === explorer().curveRequest && explorer().selected === tensor;
  const next = (index: number): void => {
    if (!current() || index >= CURVE_SPARSITIES.length) return;
    pruner.errorCurve(tensor, [CURVE_SPARSITIES[index]]).then(
      ([point]) => {
        if (!current()) return;
        points.push(point);
        explorer().setCurve(tensor, [...points]);
        next(index + 1);
      },
      (error: unknown) => {
        if (!isSuperseded(error) && current()) explorer().failed(explorer().request, errorMessage(error));
      },
    );
  };
  next(0);
}

export function exploreLayer(tensor: string): void {
  probe(useExplorerStore.getState().select(tensor));
  loadCurve(tensor);
}

export function changeExplorerControls(patch: Partial<ExplorerControls>): void {
  probe(useExplorerStore.getState().setControls(patch));
}

/** Opens the explorer on a run's kept layers, at the run's own settings, on the first layer. */
export function openExplorer(runId: string, layers: PrunableLinear[], controls: ExplorerControls): void {
  if (layers.length === 0) return;
  useExplorerStore.getState().open(runId, layers, controls);
  const { selected } = useExplorerStore.getState();
  if (selected) exploreLayer(selected);
}

/** After a reload: the explorer the shown run saved comes back (once its model is open again). */
export async function reopenExplorer(runId: string, controls: ExplorerControls): Promise<void> {
  const layers = await pruner.reopenExplorer(runId).catch(() => []);
  // A run started meanwhile owns the explorer now.
  if (useRunStore.getState().view.runId !== runId) return;
  openExplorer(runId, layers, controls);
}

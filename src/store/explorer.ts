/**
 * The layer explorer after a run: which layer is picked, its own method/sparsity/pattern controls, and the latest
 * re-pruning the worker answered with. Answers for settings that were since changed are ignored.
 */
import { create } from 'zustand';
import type { PrunableLinear, PruneMethod, SparsityPattern } from '../core/pipeline/types';
import type { CurvePoint, LayerProbeReply } from '../worker/api';

export interface ExplorerControls {
  method: PruneMethod;
  sparsity: number;
  pattern: SparsityPattern;
}

export interface ExplorerState {
  /** The run whose kept factors the worker holds; undefined when none. */
  runId?: string;
  layers: PrunableLinear[];
  selected?: string;
  controls: ExplorerControls;
  /** Increases with every change of layer or controls. */
  request: number;
  probe?: { request: number; tensor: string; controls: ExplorerControls; reply: LayerProbeReply };
  curve?: { tensor: string; points: CurvePoint[] };
  /** Increases with every curve measurement started; a measurement stops once a newer one began. */
  curveRequest: number;
  busy: boolean;
  error?: string;
  open(runId: string, layers: PrunableLinear[], controls: ExplorerControls): void;
  close(): void;
  select(tensor: string): number;
  setControls(patch: Partial<ExplorerControls>): number;
  answered(request: number, tensor: string, controls: ExplorerControls, reply: LayerProbeReply): void;
  /** Starts measuring the curve of the selected layer anew; returns the measurement's number. */
  startCurve(): number;
  setCurve(tensor: string, points: CurvePoint[]): void;
  failed(request: number, message: string): void;
}

const INITIAL = {
  runId: undefined,
  layers: [],
  selected: undefined,
  controls: { method: 'sparsegpt', sparsity: 0.5, pattern: 'unstructured' } as ExplorerControls,
  request: 0,
  probe: undefined,
  curve: undefined,
  busy: false,
  error: undefined,
};

export const useExplorerStore = create<ExplorerState>((set, get) => ({
  ...INITIAL,
  curveRequest: 0,
  open: (runId, layers, controls) =>
    set({ ...INITIAL, runId, layers, controls, selected: layers[0]?.tensor, request: get().request + 1 }),
  close: () => set({ ...INITIAL, request: get().request + 1, curveRequest: get().curveRequest + 1 }),
  select: (tensor) => {
    const request = get().request + 1;
    set({ selected: tensor, request, busy: true, error: undefined });
    return request;
  },
  setControls: (patch) => {
    const request = get().request + 1;
    set({ controls: { ...get().controls, ...patch }, request, busy: true, error: undefined });
    return request;
  },
  answered: (request, tensor, controls, reply) => {
    // Older answers still update the picture until the newest arrives, so dragging feels live.
    const latest = request === get().request;
    if (tensor !== get().selected || request < (get().probe?.request ?? 0)) return;
    set({ probe: { request, tensor, controls, reply }, busy: !latest });
  },
  startCurve: () => {
    const curveRequest = get().curveRequest + 1;
    set({ curveRequest, curve: undefined });
    return curveRequest;
  },
  setCurve: (tensor, points) => {
    if (tensor === get().selected) set({ curve: { tensor, points } });
  },
  failed: (request, message) => {
    if (request === get().request) set({ error: message, busy: false });
  },
}));
